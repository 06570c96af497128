"""Email confirmation: event settings require_email_confirmation and confirm_seconds, and the
booking status `pending` (a booking waiting for its mail's link): it occupies the slot and runs
out like a hold, so the slot guard and the expiry index take it in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from skyslots.migrations.rebuild import rebuild_keeping_indexes

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("held", "offered", "claimed", "released", "expired", "cancelled")
AFTER = ("held", "offered", "pending", "claimed", "released", "expired", "cancelled")
INDEXES = {  # name: (columns, occupying/expiring statuses before, after)
    "uq_bookings_active_slot": (["slot_id"], True, ("held", "offered", "claimed"),
                                ("held", "offered", "pending", "claimed")),
    "ix_bookings_pending_expires_at": (["expires_at"], False, ("held", "offered"),
                                       ("held", "offered", "pending")),
}  # fmt: skip


def _in(statuses: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _statuses(statuses: Sequence[str]) -> None:
    def change(batch: BatchOperations) -> None:
        batch.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch.create_check_constraint(op.f("ck_bookings_status"), _in(statuses))

    rebuild_keeping_indexes("bookings", change)


def _indexes(after: bool) -> None:
    for name, (columns, unique, before, now) in INDEXES.items():
        where = sa.text(_in(now if after else before))
        op.drop_index(name, table_name="bookings")
        op.create_index(
            name, "bookings", columns, unique=unique, postgresql_where=where, sqlite_where=where
        )


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column(
                "require_email_confirmation", sa.Boolean(), nullable=False,
                server_default=sa.false(),
            )
        )  # fmt: skip
        batch.add_column(
            sa.Column("confirm_seconds", sa.Integer(), nullable=False, server_default="3600")
        )
        batch.create_check_constraint(
            op.f("ck_events_confirm_seconds"), "confirm_seconds BETWEEN 300 AND 604800"
        )
    _statuses(AFTER)
    _indexes(after=True)


def downgrade() -> None:
    op.execute("UPDATE bookings SET status = 'expired' WHERE status = 'pending'")
    _indexes(after=False)
    _statuses(BEFORE)
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(op.f("ck_events_confirm_seconds"), type_="check")
        batch.drop_column("confirm_seconds")
        batch.drop_column("require_email_confirmation")
