"""Outbound webhooks: an event's endpoints (URL, event types, signing secret, include_email), and
when and why one was disabled (a 410 from its receiver).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENABLED_ONLY = sa.text("disabled_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("include_email", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_webhook_endpoints_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_event_id"), "webhook_endpoints", ["event_id"], unique=False
    )
    op.create_index(
        "ix_webhook_endpoints_event_id_enabled",
        "webhook_endpoints",
        ["event_id"],
        postgresql_where=ENABLED_ONLY,
        sqlite_where=ENABLED_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_endpoints_event_id_enabled", table_name="webhook_endpoints")
    op.drop_index(op.f("ix_webhook_endpoints_event_id"), table_name="webhook_endpoints")
    op.drop_table("webhook_endpoints")
