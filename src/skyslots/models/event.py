from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    false,
)
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


DEFAULT_REMINDER_OFFSETS = (1440, 60)
MAX_REMINDER_MINUTES = 14 * 24 * 60
MAX_REMINDERS = 5


MIN_CONFIRM_SECONDS, MAX_CONFIRM_SECONDS = 300, 7 * 24 * 3600


def _setting(default: int) -> Column[int]:
    return Column(Integer, nullable=False, default=default, server_default=str(default))


class WaitlistMode(StrEnum):
    OFF = "off"
    CLAIM = "claim"  # a freed slot becomes the first waiter's claimed booking
    OFFER = "offer"  # a freed slot is held for the first waiter, to accept within offer_seconds


MAX_HOLD_SECONDS = 3600
MAX_SLOTS_PER_PERSON = 20
MAX_OFFER_SECONDS = 7 * 24 * 3600


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("end_datetime > start_datetime", name="ends_after_start"),
        CheckConstraint("status IN ('draft', 'published', 'cancelled')", name="status"),
        CheckConstraint(
            "booking_closes_at IS NULL OR booking_opens_at IS NULL"
            " OR booking_closes_at > booking_opens_at",
            name="booking_window",
        ),
        CheckConstraint(f"hold_seconds BETWEEN 0 AND {MAX_HOLD_SECONDS}", name="hold_seconds"),
        CheckConstraint("waitlist_mode IN ('off', 'claim', 'offer')", name="waitlist_mode"),
        CheckConstraint(f"offer_seconds BETWEEN 60 AND {MAX_OFFER_SECONDS}", name="offer_seconds"),
        CheckConstraint(
            f"confirm_seconds BETWEEN {MIN_CONFIRM_SECONDS} AND {MAX_CONFIRM_SECONDS}",
            name="confirm_seconds",
        ),
        CheckConstraint(
            f"max_slots_per_person BETWEEN 1 AND {MAX_SLOTS_PER_PERSON}",
            name="max_slots_per_person",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    start_datetime: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    end_datetime: datetime = Field(sa_column=utc_column(nullable=False))
    airport_icao: str = Field(sa_column=Column(String(4), nullable=False, index=True))
    airport_name: str = Field(default="", sa_column=Column(String(200), nullable=False, default=""))
    timezone: str = Field(sa_column=Column(String(64), nullable=False))
    organizer_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    status: str = Field(
        default=EventStatus.DRAFT.value, sa_column=Column(String(16), nullable=False)
    )
    booking_opens_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    booking_closes_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    hold_seconds: int = Field(default=300, sa_column=_setting(300))
    waitlist_mode: str = Field(
        default=WaitlistMode.OFFER.value,
        sa_column=Column(String(8), nullable=False, default="offer", server_default="offer"),
    )
    offer_seconds: int = Field(default=1800, sa_column=_setting(1800))
    max_slots_per_person: int = Field(default=1, sa_column=_setting(1))
    # Bookings wait for the link in their mail (confirm_seconds), else they are released.
    require_email_confirmation: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    confirm_seconds: int = Field(default=3600, sa_column=_setting(3600))
    # Only signed-in people may book (default: anonymous booking, as the architecture advises).
    booking_requires_login: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    # ATC slots without their own min_rating require their type's usual rating (VATSIM.md).
    apply_rating_defaults: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    # A Discord channel's webhook (a secret: never in public views or the audit log).
    discord_webhook_url: str | None = Field(
        default=None, sa_column=Column(String(300), nullable=True)
    )
    # Minutes before a booking's slot starts when its booker is reminded by mail.
    reminder_offsets_minutes: list[int] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS),
        sa_column=Column(JSON, nullable=False, server_default="[1440, 60]"),
    )
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
