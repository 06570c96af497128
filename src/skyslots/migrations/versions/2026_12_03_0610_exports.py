"""Exports: an organizer's CSV, PDF or PNG of an event's roster as a background job (status,
progress, the stored object's key, the error, attempts and the lease), at most one queued or
running per event and format.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_ONLY = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False, server_default="queued"),
        sa.Column("progress", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("object_key", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("roster_version", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("format IN ('csv', 'pdf', 'png')", name=op.f("ck_exports_format")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_exports_status")
        ),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f("ck_exports_progress")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_exports_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_exports_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )  # fmt: skip
    op.create_index(
        "uq_exports_active_format", "exports", ["event_id", "format"], unique=True,
        postgresql_where=ACTIVE_ONLY, sqlite_where=ACTIVE_ONLY,
    )  # fmt: skip
    op.create_index(
        "ix_exports_next_attempt_at", "exports", ["next_attempt_at"],
        postgresql_where=ACTIVE_ONLY, sqlite_where=ACTIVE_ONLY,
    )  # fmt: skip
    op.create_index("ix_exports_event_id_created_at", "exports", ["event_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_exports_event_id_created_at", table_name="exports")
    op.drop_index("ix_exports_next_attempt_at", table_name="exports")
    op.drop_index("uq_exports_active_format", table_name="exports")
    op.drop_table("exports")
