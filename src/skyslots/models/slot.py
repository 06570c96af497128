from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class PositionType(StrEnum):
    DEL = "DEL"
    GND = "GND"
    TWR = "TWR"
    APP = "APP"
    DEP = "DEP"
    CTR = "CTR"
    FSS = "FSS"
    RMP = "RMP"
    ATIS = "ATIS"
    OBS = "OBS"
    PILOT = "PILOT"


POSITION_TYPES_SQL = ", ".join(f"'{p.value}'" for p in PositionType)


class Slot(SQLModel, table=True):
    __tablename__ = "slots"
    __table_args__ = (
        CheckConstraint(f"position_type IN ({POSITION_TYPES_SQL})", name="position_type"),
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL)"
            " OR (start_time IS NOT NULL AND end_time IS NOT NULL AND end_time > start_time)",
            name="time_block",
        ),
        # The key a booking references (its slot and that slot's event), see Booking.
        UniqueConstraint("id", "event_id"),
        CheckConstraint("min_rating IS NULL OR min_rating BETWEEN 1 AND 12", name="min_rating"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    position_name: str = Field(sa_column=Column(String(64), nullable=False))
    position_type: str = Field(sa_column=Column(String(8), nullable=False))
    callsign_pattern: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    is_locked: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    order_index: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    start_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    end_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Structured pilot slots (all optional): the flight the slot stands for.
    origin_icao: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    destination_icao: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    slot_time: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    aircraft_type: str | None = Field(default=None, sa_column=Column(String(4), nullable=True))
    route: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    callsign: str | None = Field(default=None, sa_column=Column(String(10), nullable=True))
    # The VATSIM controller rating id a booker needs (null: anyone, signed in or not).
    min_rating: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())

    @property
    def is_atc(self) -> bool:
        return self.position_type != PositionType.PILOT
