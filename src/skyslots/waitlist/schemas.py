from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from skyslots.models import PositionType, WaitlistStatus
from skyslots.validation import ID_MAX, BlankIsNone, BookerName, PilotCallsign


class WaitlistJoin(BaseModel):
    """Wait for one slot (`slot_id`), any slot of a type (`position_type`), or any slot."""

    # slot_id and position_type both given is refused; the document says so too.
    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["slot_id", "position_type"],
                "properties": {"slot_id": {"type": "integer"}, "position_type": {"type": "string"}},
            }
        }
    )

    pilot_name: BookerName = None
    pilot_callsign: Annotated[PilotCallsign, Field(examples=["BAW123"])]
    email: Annotated[EmailStr | None, BlankIsNone] = None
    slot_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    position_type: PositionType | None = None

    @model_validator(mode="after")
    def _one_target(self) -> WaitlistJoin:
        if self.slot_id is not None and self.position_type is not None:
            raise ValueError("give slot_id or position_type, not both")
        return self


class WaitlistJoined(BaseModel):
    id: int
    status: WaitlistStatus
    position: int
    manage_token: str = Field(description="Shown once: send it as X-Manage-Token.")


class WaitlistView(BaseModel):
    """A waitlist entry as its owner sees it (with the manage token)."""

    id: int
    event_id: int
    slot_id: int | None
    position_type: str | None
    pilot_callsign: str
    status: WaitlistStatus
    position: int | None = Field(description="1 = first in line; null unless waiting")
    offer_expires_at: datetime | None
    booking_id: int | None


class WaitlistEntryPrivate(BaseModel):
    """The organizer's view of an entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slot_id: int | None
    position_type: str | None
    pilot_name: str
    pilot_callsign: str
    email: str | None
    status: WaitlistStatus
    booking_id: int | None
    created_at: datetime
