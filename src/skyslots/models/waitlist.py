from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a slot is held for them (booking_id, status offered)
    PROMOTED = "promoted"  # they hold the booking booking_id
    LEFT = "left"  # left the line, or declined an offer
    EXPIRED = "expired"  # an offer ran out


ACTIVE_ONLY = text("status IN ('waiting', 'offered')")
WAITING_ONLY = text("status = 'waiting'")
ENTRY_TARGET = "uq_waitlist_entries_active_target"


class WaitlistEntry(SQLModel, table=True):
    """One person waiting for a slot, a position type, or any slot of an event."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('waiting', 'offered', 'promoted', 'left', 'expired')", name="status"
        ),
        # One active entry per callsign and target: a second is `already_waiting`.
        Index(
            ENTRY_TARGET,
            "event_id",
            text("lower(pilot_callsign)"),
            text("coalesce(slot_id, 0)"),
            text("coalesce(position_type, '')"),
            unique=True,
            postgresql_where=ACTIVE_ONLY,
            sqlite_where=ACTIVE_ONLY,
        ),
        Index(
            "ix_waitlist_entries_event_id_joined",
            "event_id",
            "created_at",
            "id",
            postgresql_where=WAITING_ONLY,
            sqlite_where=WAITING_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    )
    slot_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("slots.id", ondelete="CASCADE"), nullable=True),
    )
    position_type: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    # The signed-in account that joined (null: anonymous); rated slots pass only to accounts.
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    pilot_name: str = Field(sa_column=Column(String(100), nullable=False))
    pilot_callsign: str = Field(sa_column=Column(String(10), nullable=False))
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    status: str = Field(
        default=WaitlistStatus.WAITING.value, sa_column=Column(String(16), nullable=False)
    )
    manage_token_hash: str = Field(sa_column=Column(String(64), nullable=False))
    booking_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("bookings.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
