"""Holds, waitlist offers and per-person limits: booking rows for every occupant of a slot, one
guard per slot over all of them, numbered seats for the limits; waitlist entries; the outbox;
the event settings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
OCCUPYING = sa.text("status IN ('held', 'offered', 'claimed')")
PENDING = sa.text("status IN ('held', 'offered')")
CLAIMED = sa.text("status = 'claimed'")
CLAIMED_WITH_EMAIL = sa.text("status = 'claimed' AND email IS NOT NULL")
HELD = sa.text("status = 'held'")
STATUSES = "status IN ('held', 'offered', 'claimed', 'released', 'expired', 'cancelled')"
EVENT_CHECKS = {
    "hold_seconds": "hold_seconds BETWEEN 0 AND 3600",
    "waitlist_mode": "waitlist_mode IN ('off', 'claim', 'offer')",
    "offer_seconds": "offer_seconds BETWEEN 60 AND 604800",
    "max_slots_per_person": "max_slots_per_person BETWEEN 1 AND 20",
}


def _partial_index(name: str, columns: list, where: sa.TextClause, unique: bool = True) -> None:
    op.create_index(
        name, "bookings", columns, unique=unique, postgresql_where=where, sqlite_where=where
    )


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("hold_seconds", sa.Integer(), nullable=False, server_default="300")
        )
        batch.add_column(
            sa.Column("waitlist_mode", sa.String(length=8), nullable=False, server_default="offer")
        )
        batch.add_column(
            sa.Column("offer_seconds", sa.Integer(), nullable=False, server_default="1800")
        )
        batch.add_column(
            sa.Column("max_slots_per_person", sa.Integer(), nullable=False, server_default="1")
        )
        for name, condition in EVENT_CHECKS.items():
            batch.create_check_constraint(op.f(f"ck_events_{name}"), condition)

    op.drop_index("uq_bookings_claimed_slot", table_name="bookings")
    op.drop_index("uq_bookings_claimed_callsign", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.alter_column("pilot_name", existing_type=sa.String(length=100), nullable=True)
        batch.alter_column("pilot_callsign", existing_type=sa.String(length=10), nullable=True)
        batch.add_column(sa.Column("expires_at", UTC_DATETIME, nullable=True))
        batch.add_column(
            sa.Column("callsign_seat", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("email_seat", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("client_key", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("client_seat", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch.create_check_constraint(op.f("ck_bookings_status"), STATUSES)
        batch.create_check_constraint(
            op.f("ck_bookings_booker"),
            "pilot_callsign IS NOT NULL OR status IN ('held', 'expired', 'cancelled')",
        )
        batch.create_check_constraint(
            op.f("ck_bookings_seats"),
            "callsign_seat >= 1 AND email_seat >= 1 AND (client_seat IS NULL OR client_seat >= 1)",
        )
    _partial_index("uq_bookings_active_slot", ["slot_id"], OCCUPYING)
    _partial_index(
        "uq_bookings_claimed_callsign",
        ["event_id", sa.text("lower(pilot_callsign)"), "callsign_seat"],
        CLAIMED,
    )
    _partial_index(
        "uq_bookings_claimed_email",
        ["event_id", sa.text("lower(email)"), "email_seat"],
        CLAIMED_WITH_EMAIL,
    )
    _partial_index("uq_bookings_held_client", ["event_id", "client_key", "client_seat"], HELD)
    _partial_index("ix_bookings_pending_expires_at", ["expires_at"], PENDING, unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=True),
        sa.Column("position_type", sa.String(length=8), nullable=True),
        sa.Column("pilot_name", sa.String(length=100), nullable=False),
        sa.Column("pilot_callsign", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("manage_token_hash", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'offered', 'promoted', 'left', 'expired')",
            name=op.f("ck_waitlist_entries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_waitlist_entries_booking_id_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_waitlist_entries_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["slots.id"],
            name=op.f("fk_waitlist_entries_slot_id_slots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    active = sa.text("status IN ('waiting', 'offered')")
    op.create_index(
        "uq_waitlist_entries_active_target",
        "waitlist_entries",
        [
            "event_id",
            sa.text("lower(pilot_callsign)"),
            sa.text("coalesce(slot_id, 0)"),
            sa.text("coalesce(position_type, '')"),
        ],
        unique=True,
        postgresql_where=active,
        sqlite_where=active,
    )
    waiting = sa.text("status = 'waiting'")
    op.create_index(
        "ix_waitlist_entries_event_id_joined",
        "waitlist_entries",
        ["event_id", "created_at", "id"],
        postgresql_where=waiting,
        sqlite_where=waiting,
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=1000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_outbox_event_id_events"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    unsent = sa.text("sent_at IS NULL")
    op.create_index(
        "ix_outbox_next_attempt_at",
        "outbox",
        ["next_attempt_at"],
        postgresql_where=unsent,
        sqlite_where=unsent,
    )


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("waitlist_entries")
    for name in (
        "ix_bookings_pending_expires_at",
        "uq_bookings_held_client",
        "uq_bookings_claimed_email",
        "uq_bookings_claimed_callsign",
        "uq_bookings_active_slot",
    ):
        op.drop_index(name, table_name="bookings")
    # Bookings that never were claims (holds, offers) have no place in the old schema.
    op.execute("DELETE FROM bookings WHERE status NOT IN ('claimed', 'released')")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_constraint(op.f("ck_bookings_seats"), type_="check")
        batch.drop_constraint(op.f("ck_bookings_booker"), type_="check")
        batch.drop_constraint(op.f("ck_bookings_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_bookings_status"), "status IN ('claimed', 'released')"
        )
        for name in ("client_seat", "client_key", "email_seat", "callsign_seat", "expires_at"):
            batch.drop_column(name)
        batch.alter_column("pilot_callsign", existing_type=sa.String(length=10), nullable=False)
        batch.alter_column("pilot_name", existing_type=sa.String(length=100), nullable=False)
    claimed = sa.text("status = 'claimed'")
    op.create_index(
        "uq_bookings_claimed_slot",
        "bookings",
        ["slot_id"],
        unique=True,
        postgresql_where=claimed,
        sqlite_where=claimed,
    )
    op.create_index(
        "uq_bookings_claimed_callsign",
        "bookings",
        ["event_id", sa.text("lower(pilot_callsign)")],
        unique=True,
        postgresql_where=claimed,
        sqlite_where=claimed,
    )
    with op.batch_alter_table("events") as batch:
        for name in reversed(list(EVENT_CHECKS)):
            batch.drop_constraint(op.f(f"ck_events_{name}"), type_="check")
        for name in reversed(list(EVENT_CHECKS)):
            batch.drop_column(name)
