"""Outbox delivery state: a status (pending, sent, dead) beside the attempt bookkeeping, due rows
found by the pending ones' next attempt time, and an event's deliveries listed newest first.

`event_id` loses its foreign key: a delivery outlives its event (a cancellation's mails still go
out), and a key check would share-lock the event row that the same change's version bump updates
(see migration 0005).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_next_attempt_at", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("fk_outbox_event_id_events"), type_="foreignkey")
        batch.add_column(
            sa.Column("status", sa.String(length=8), nullable=False, server_default="pending")
        )
        batch.create_check_constraint(
            op.f("ck_outbox_status"), "status IN ('pending', 'sent', 'dead')"
        )
    op.execute("UPDATE outbox SET status = 'sent' WHERE sent_at IS NOT NULL")
    op.create_index(
        "ix_outbox_next_attempt_at",
        "outbox",
        ["next_attempt_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_outbox_event_id_created_at", "outbox", ["event_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_event_id_created_at", table_name="outbox")
    op.drop_index("ix_outbox_next_attempt_at", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_status"), type_="check")
        batch.drop_column("status")
        batch.create_foreign_key(
            op.f("fk_outbox_event_id_events"), "events", ["event_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index(
        "ix_outbox_next_attempt_at",
        "outbox",
        ["next_attempt_at"],
        postgresql_where=UNSENT,
        sqlite_where=UNSENT,
    )
