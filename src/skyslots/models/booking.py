from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class BookingStatus(StrEnum):
    """A booking row is a slot's occupant (held, offered, claimed) or a record of one."""

    HELD = "held"  # a temporary hold: someone is filling in the booking form
    UNCONFIRMED = "pending"  # booked, waiting for its email's confirmation link
    OFFERED = "offered"  # held for a waitlisted person until they accept
    CLAIMED = "claimed"
    RELEASED = "released"  # was claimed
    EXPIRED = "expired"  # a hold or an offer that ran out
    CANCELLED = "cancelled"  # a hold cancelled or an offer declined


OCCUPYING = (
    BookingStatus.HELD,
    BookingStatus.OFFERED,
    BookingStatus.UNCONFIRMED,
    BookingStatus.CLAIMED,
)
PENDING = (BookingStatus.HELD, BookingStatus.OFFERED, BookingStatus.UNCONFIRMED)  # they expire


def _status_in(statuses: tuple[BookingStatus, ...]) -> str:
    return "status IN (" + ", ".join(f"'{s.value}'" for s in statuses) + ")"


OCCUPYING_SQL = _status_in(OCCUPYING)
PENDING_SQL = _status_in(PENDING)
CLAIMED_ONLY = text("status = 'claimed'")
OCCUPYING_ONLY = text(OCCUPYING_SQL)
PENDING_ONLY = text(PENDING_SQL)
HELD_ONLY = text("status = 'held'")
CLAIMED_WITH_EMAIL = text("status = 'claimed' AND email IS NOT NULL")

# The guards: the database, not application code, refuses what two requests could race for.
SLOT_OCCUPIED = "uq_bookings_active_slot"  # one hold, offer or claim per slot
CALLSIGN_SEAT = "uq_bookings_claimed_callsign"  # a callsign's claims, numbered 1..limit
EMAIL_SEAT = "uq_bookings_claimed_email"  # an email's claims, numbered 1..limit
CLIENT_SEAT = "uq_bookings_held_client"  # a client address's holds, numbered 1..hold limit


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint(_status_in(tuple(BookingStatus)), name="status"),
        CheckConstraint(
            "pilot_callsign IS NOT NULL OR status IN ('held', 'expired', 'cancelled')",
            name="booker",
        ),
        CheckConstraint(
            "callsign_seat >= 1 AND email_seat >= 1 AND (client_seat IS NULL OR client_seat >= 1)",
            name="seats",
        ),
        # One key to the slot and its event: the event id always agrees with the slot's, and the
        # key check locks the slot row (held by the claim already), not the event row whose
        # version every roster change bumps (migration 0005 says why that matters).
        ForeignKeyConstraint(
            ["slot_id", "event_id"], ["slots.id", "slots.event_id"], ondelete="CASCADE"
        ),
        Index(
            SLOT_OCCUPIED,
            "slot_id",
            unique=True,
            postgresql_where=OCCUPYING_ONLY,
            sqlite_where=OCCUPYING_ONLY,
        ),
        # Per-person limits: a person's Nth claim takes seat N, so "at most N" is a unique index.
        Index(
            CALLSIGN_SEAT,
            "event_id",
            text("lower(pilot_callsign)"),
            "callsign_seat",
            unique=True,
            postgresql_where=CLAIMED_ONLY,
            sqlite_where=CLAIMED_ONLY,
        ),
        Index(
            EMAIL_SEAT,
            "event_id",
            text("lower(email)"),
            "email_seat",
            unique=True,
            postgresql_where=CLAIMED_WITH_EMAIL,
            sqlite_where=CLAIMED_WITH_EMAIL,
        ),
        Index(
            CLIENT_SEAT,
            "event_id",
            "client_key",
            "client_seat",
            unique=True,
            postgresql_where=HELD_ONLY,
            sqlite_where=HELD_ONLY,
        ),
        Index(
            "ix_bookings_pending_expires_at",
            "expires_at",
            postgresql_where=PENDING_ONLY,
            sqlite_where=PENDING_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    event_id: int = Field(sa_column=Column(Integer, nullable=False, index=True))
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    pilot_name: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    pilot_callsign: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    status: str = Field(
        default=BookingStatus.CLAIMED.value, sa_column=Column(String(16), nullable=False)
    )
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    released_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # A claim's manage token; a hold's token while held (the claim that converts it sets a new one).
    manage_token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    callsign_seat: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, default=1, server_default="1")
    )
    email_seat: int = Field(
        default=1, sa_column=Column(Integer, nullable=False, default=1, server_default="1")
    )
    # Holds only: a keyed hash of the client's address (never the address) and its hold number.
    client_key: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    client_seat: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
