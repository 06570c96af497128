"""Event setting: reminder offsets (minutes before a booking's slot starts), default 1440 and 60.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column(
                "reminder_offsets_minutes", sa.JSON(), nullable=False, server_default="[1440, 60]"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("reminder_offsets_minutes")
