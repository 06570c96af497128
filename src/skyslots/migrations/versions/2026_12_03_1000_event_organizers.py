"""Co-organizers: accounts that manage an event besides its owner.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# 0012 is the exports branch's; the lead re-chains this one onto it at merge.
revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_organizers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_event_organizers_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_organizers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.id"],
            name=op.f("fk_event_organizers_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_organizers")),
        sa.UniqueConstraint(
            "event_id", "user_id", name=op.f("uq_event_organizers_event_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_event_organizers_user_id"), "event_organizers", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_event_organizers_user_id"), table_name="event_organizers")
    op.drop_table("event_organizers")
