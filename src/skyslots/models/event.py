from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


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
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
