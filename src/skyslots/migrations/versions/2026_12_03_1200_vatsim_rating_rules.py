"""VATSIM sign-in and rating rules: users' rating (id, short name) and calendar feed serial,
slots' min_rating, events' booking_requires_login and apply_rating_defaults.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENT_FLAGS = ("booking_requires_login", "apply_rating_defaults")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("rating_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rating_short", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("calendar_feed_serial", sa.Integer(), nullable=True))
    with op.batch_alter_table("slots") as batch:
        batch.add_column(sa.Column("min_rating", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_slots_min_rating"), "min_rating IS NULL OR min_rating BETWEEN 1 AND 12"
        )
    with op.batch_alter_table("events") as batch:
        for flag in EVENT_FLAGS:
            batch.add_column(
                sa.Column(flag, sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for flag in EVENT_FLAGS:
            batch.drop_column(flag)
    with op.batch_alter_table("slots") as batch:
        batch.drop_constraint(op.f("ck_slots_min_rating"), type_="check")
        batch.drop_column("min_rating")
    with op.batch_alter_table("users") as batch:
        for column in ("calendar_feed_serial", "rating_short", "rating_id"):
            batch.drop_column(column)
