"""Structured pilot slots: origin, destination, slot time (CTOT/ETA), aircraft type, route, callsign.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("origin_icao", sa.String(length=4)),
    ("destination_icao", sa.String(length=4)),
    ("slot_time", sa.DateTime(timezone=True)),
    ("aircraft_type", sa.String(length=4)),
    ("route", sa.Text()),
    ("callsign", sa.String(length=10)),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("slots", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
