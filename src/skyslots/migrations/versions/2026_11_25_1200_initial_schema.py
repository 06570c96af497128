"""Initial schema: users, events, slots, bookings, audit_logs and the booking guards.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
CLAIMED_ONLY = sa.text("status = 'claimed'")
POSITION_TYPES = "'DEL', 'GND', 'TWR', 'APP', 'DEP', 'CTR', 'FSS', 'RMP', 'ATIS', 'OBS', 'PILOT'"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vatsim_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'organizer', 'member')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("vatsim_id", name=op.f("uq_users_vatsim_id")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_datetime", UTC_DATETIME, nullable=False),
        sa.Column("end_datetime", UTC_DATETIME, nullable=False),
        sa.Column("airport_icao", sa.String(length=4), nullable=False),
        sa.Column("airport_name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("organizer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booking_opens_at", UTC_DATETIME, nullable=True),
        sa.Column("booking_closes_at", UTC_DATETIME, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'cancelled')", name=op.f("ck_events_status")
        ),
        sa.CheckConstraint(
            "booking_closes_at IS NULL OR booking_opens_at IS NULL"
            " OR booking_closes_at > booking_opens_at",
            name=op.f("ck_events_booking_window"),
        ),
        sa.CheckConstraint(
            "end_datetime > start_datetime", name=op.f("ck_events_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["organizer_id"],
            ["users.id"],
            name=op.f("fk_events_organizer_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_airport_icao"), "events", ["airport_icao"])
    op.create_index(op.f("ix_events_organizer_id"), "events", ["organizer_id"])
    op.create_index(op.f("ix_events_start_datetime"), "events", ["start_datetime"])

    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action_type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_audit_logs_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_audit_logs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index("ix_audit_logs_event_id_created_at", "audit_logs", ["event_id", "created_at"])

    op.create_table(
        "slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position_name", sa.String(length=64), nullable=False),
        sa.Column("position_type", sa.String(length=8), nullable=False),
        sa.Column("callsign_pattern", sa.String(length=64), nullable=True),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("start_time", UTC_DATETIME, nullable=True),
        sa.Column("end_time", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint(
            f"position_type IN ({POSITION_TYPES})", name=op.f("ck_slots_position_type")
        ),
        sa.CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL)"
            " OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name=op.f("ck_slots_time_block"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_slots_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slots")),
    )
    op.create_index(op.f("ix_slots_event_id"), "slots", ["event_id"])

    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("pilot_name", sa.String(length=100), nullable=False),
        sa.Column("pilot_callsign", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=False),
        sa.Column("released_at", UTC_DATETIME, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("status IN ('claimed', 'released')", name=op.f("ck_bookings_status")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_bookings_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["slots.id"], name=op.f("fk_bookings_slot_id_slots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_bookings_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(op.f("ix_bookings_event_id"), "bookings", ["event_id"])
    op.create_index(op.f("ix_bookings_slot_id"), "bookings", ["slot_id"])
    # The booking guards: one claimed booking per slot, one claimed callsign per event.
    op.create_index(
        "uq_bookings_claimed_slot",
        "bookings",
        ["slot_id"],
        unique=True,
        postgresql_where=CLAIMED_ONLY,
        sqlite_where=CLAIMED_ONLY,
    )
    op.create_index(
        "uq_bookings_claimed_callsign",
        "bookings",
        ["event_id", sa.text("lower(pilot_callsign)")],
        unique=True,
        postgresql_where=CLAIMED_ONLY,
        sqlite_where=CLAIMED_ONLY,
    )


def downgrade() -> None:
    op.drop_table("bookings")
    op.drop_table("slots")
    op.drop_table("audit_logs")
    op.drop_table("events")
    op.drop_table("users")
