from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skyslots.models import BookingStatus, PositionType
from skyslots.validation import ATC_CALLSIGN, CALLSIGN_SHAPED, ID_MAX, Text, UTCDatetime


class SlotCreate(BaseModel):
    """An ATC position (`EGLL_TWR`) or a pilot slot (`EGLL-KJFK 1204z`), optionally time-boxed."""

    position_name: Text = Field(min_length=1, max_length=64, examples=["EGLL_TWR"])
    position_type: PositionType | None = Field(
        default=None, description="ATC suffix or PILOT; derived from an ATC callsign if omitted"
    )
    callsign_pattern: Annotated[Text | None, Field(max_length=64)] = None
    is_locked: bool = False
    order_index: int | None = Field(default=None, ge=0, le=1_000_000)
    notes: Text = Field(default="", max_length=2_000)
    start_time: UTCDatetime | None = None
    end_time: UTCDatetime | None = None

    @model_validator(mode="after")
    def _position(self) -> SlotCreate:
        name = " ".join(self.position_name.split())
        if not name:
            raise ValueError("position_name must not be blank")
        atc = ATC_CALLSIGN.match(name.upper())
        if self.position_type is None:
            if not atc and CALLSIGN_SHAPED.match(name.upper()):
                raise ValueError(f"{name!r} is not an ATC callsign such as EGLL_TWR or EGLL_N_APP")
            self.position_type = PositionType(atc.group(2)) if atc else PositionType.PILOT
        if self.position_type == PositionType.PILOT:
            self.position_name = name
        else:
            if not atc:
                raise ValueError(f"{name!r} is not an ATC callsign such as EGLL_TWR or EGLL_N_APP")
            if atc.group(2) != self.position_type.value:
                raise ValueError(
                    f"{name.upper()} ends in _{atc.group(2)} but position_type is "
                    f"{self.position_type.value}"
                )
            self.position_name = name.upper()
        if (self.start_time is None) != (self.end_time is None):
            raise ValueError("give both start_time and end_time, or neither")
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class SlotUpdate(BaseModel):
    """Lock or unlock, notes, order, times; only the fields sent change."""

    is_locked: bool | None = None
    notes: Text | None = Field(default=None, max_length=2_000)
    order_index: int | None = Field(default=None, ge=0, le=1_000_000)
    callsign_pattern: Annotated[Text | None, Field(max_length=64)] = None
    start_time: UTCDatetime | None = None
    end_time: UTCDatetime | None = None


class BookingPublic(BaseModel):
    """What everyone may see of a slot's booking: never the email."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pilot_callsign: str
    pilot_name: str
    status: BookingStatus
    claimed_at: datetime


class SlotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    position_name: str
    position_type: PositionType
    callsign_pattern: str | None
    is_locked: bool
    order_index: int
    notes: str
    start_time: datetime | None
    end_time: datetime | None


class SlotState(StrEnum):
    FREE = "free"
    HELD = "held"  # a temporary hold or a waitlist offer, until `expires_at`
    TAKEN = "taken"


class SlotPublic(SlotOut):
    """A slot as everyone sees it: never a token, an email or a holder's address."""

    status: SlotState = SlotState.FREE
    expires_at: datetime | None = None
    booking: BookingPublic | None = None


MAX_LOCK_IDS = 2_000


class SlotLock(BaseModel):
    """Lock (`locked: true`) or unlock these slots of one event, all at once."""

    slot_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        min_length=1, max_length=MAX_LOCK_IDS, examples=[[42, 43, 44]]
    )
    locked: bool


class SlotLockResult(BaseModel):
    updated: int = Field(description="slots whose lock state changed (already right: not counted)")
