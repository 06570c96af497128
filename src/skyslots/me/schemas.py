from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from skyslots.models import BookingStatus, EventStatus, PositionType


class MyBooking(BaseModel):
    """One of the signed-in person's bookings, with its event and slot."""

    id: int
    status: BookingStatus
    event_id: int
    event_title: str
    event_status: EventStatus
    slot_id: int
    label: str = Field(description="the slot as people name it: `EGLL_TWR 1800-2000z`")
    position_name: str
    position_type: PositionType
    starts_at: datetime = Field(description="the block's start (pilot slot: its slot time)")
    ends_at: datetime
    pilot_callsign: str | None
    pilot_name: str | None
    claimed_at: datetime
    released_at: datetime | None
    upcoming: bool = Field(description="active and not yet over")


class CalendarFeed(BaseModel):
    """The personal calendar feed's secret address (a new one revokes the old)."""

    url: str = Field(description="the .ics to subscribe to; anyone holding it can read it")
    webcal_url: str
