"""Waitlist entries remember the signed-in account that joined (rating rules at promotion).

A slot that requires a VATSIM rating passes, when it frees up, only to a waiter whose account has
that rating; an anonymous entry (user_id null) is passed over for it.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-03 12:18:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from skyslots.migrations.rebuild import rebuild_keeping_indexes

# 0016 and 0017 are other branches'; the lead re-chains this one onto them at merge.
revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _add(batch: BatchOperations) -> None:
    batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    batch.create_foreign_key(
        op.f("fk_waitlist_entries_user_id_users"), "users", ["user_id"], ["id"], ondelete="SET NULL"
    )


def _drop(batch: BatchOperations) -> None:
    batch.drop_constraint(op.f("fk_waitlist_entries_user_id_users"), type_="foreignkey")
    batch.drop_column("user_id")


def upgrade() -> None:
    # SQLite rebuilds the table for the key: its partial and expression indexes are set aside.
    rebuild_keeping_indexes("waitlist_entries", _add)


def downgrade() -> None:
    rebuild_keeping_indexes("waitlist_entries", _drop)
