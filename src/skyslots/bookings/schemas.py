from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from skyslots.models import BookingStatus
from skyslots.validation import (
    ID_MAX,
    BlankIsNone,
    BookerName,
    OptionalPilotCallsign,
    Text,
)


class BookingCreate(BaseModel):
    pilot_name: BookerName = None
    pilot_callsign: Annotated[
        OptionalPilotCallsign,
        Field(examples=["BAW123"], description="required unless the slot has a fixed callsign"),
    ] = None
    email: Annotated[EmailStr | None, BlankIsNone] = None
    notes: Text = Field(default="", max_length=500)


class BookingRequest(BookingCreate):
    hold_token: Annotated[str | None, BlankIsNone] = Field(
        default=None, max_length=100, description="the token of the booker's hold on this slot"
    )


class BookingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slot_id: int
    event_id: int
    status: BookingStatus
    pilot_callsign: str
    pilot_name: str
    claimed_at: datetime


class BookingClaimed(BookingOut):
    manage_token: str = Field(
        description="Shown once: send it as X-Manage-Token to release this booking."
    )


class BookingPrivate(BookingOut):
    """The organizer's view: adds contact details and release time."""

    email: str | None
    notes: str
    released_at: datetime | None


class BookingMove(BaseModel):
    slot_id: int = Field(ge=1, le=ID_MAX, description="a free slot of the same event")


class ReleaseAll(BaseModel):
    confirm: str = Field(max_length=200, description="the event's title, exactly")


class ReleasedAll(BaseModel):
    released: int


class BookingConfirm(BaseModel):
    """The token from the confirmation mail's link."""

    token: str = Field(min_length=1, max_length=100)
