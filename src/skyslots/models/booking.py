from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class BookingStatus(StrEnum):
    CLAIMED = "claimed"
    RELEASED = "released"


CLAIMED_ONLY = text("status = 'claimed'")


class Booking(SQLModel, table=True):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("status IN ('claimed', 'released')", name="status"),
        # The booking core's guards: the database, not application code, refuses a second claim.
        Index(
            "uq_bookings_claimed_slot",
            "slot_id",
            unique=True,
            postgresql_where=CLAIMED_ONLY,
            sqlite_where=CLAIMED_ONLY,
        ),
        Index(
            "uq_bookings_claimed_callsign",
            "event_id",
            text("lower(pilot_callsign)"),
            unique=True,
            postgresql_where=CLAIMED_ONLY,
            sqlite_where=CLAIMED_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    slot_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("slots.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    pilot_name: str = Field(sa_column=Column(String(100), nullable=False))
    pilot_callsign: str = Field(sa_column=Column(String(10), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    status: str = Field(
        default=BookingStatus.CLAIMED.value, sa_column=Column(String(16), nullable=False)
    )
    claimed_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    released_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    manage_token_hash: str = Field(sa_column=Column(String(64), nullable=False))
