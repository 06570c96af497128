from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from skyslots.models import BookingStatus, PositionType
from skyslots.ratings import RATING_CHOICES, parse_rating
from skyslots.validation import (
    ATC_CALLSIGN,
    CALLSIGN_SHAPED,
    CLEAN_TEXT_INPUT,
    ID_MAX,
    TEXT_INPUT,
    AirportCode,
    AtcCallsign,
    BlankIsNone,
    OptionalAircraftType,
    OptionalAirportCode,
    OptionalPilotCallsign,
    Text,
    UTCDatetime,
    clean_text,
    documented,
)

# The flight a pilot slot stands for; ATC slots have none of these.
PILOT_FIELDS = (
    "origin_icao",
    "destination_icao",
    "slot_time",
    "aircraft_type",
    "route",
    "callsign",
)
ROUTE_MAX = 1_000

OptionalAirport = OptionalAirportCode
OptionalTime = Annotated[UTCDatetime | None, BlankIsNone]
OptionalAircraft = OptionalAircraftType
Route = Annotated[
    str, Field(max_length=ROUTE_MAX), AfterValidator(clean_text), documented(CLEAN_TEXT_INPUT)
]
OptionalRoute = Annotated[
    Annotated[str, Field(max_length=ROUTE_MAX), AfterValidator(clean_text), documented(TEXT_INPUT)]
    | None,
    BlankIsNone,
]
OptionalCallsign = OptionalPilotCallsign
MinRating = Annotated[
    int | None,
    BeforeValidator(parse_rating),
    Field(
        description=f"the VATSIM rating a booker needs (id or short name): {RATING_CHOICES}; "
        "null: anyone",
        examples=[3],
    ),
]


def pilot_only(field: str, position_name: str) -> str:
    """The reason an ATC slot refuses a pilot slot's field."""
    return f"{field} is for pilot slots only; {position_name} is an ATC position"


def _kind(data: dict[str, object]) -> PositionType | None:
    """The type a slot being validated will have (None while its name or type is invalid)."""
    given = data.get("position_type")
    if isinstance(given, PositionType):
        return given
    name = data.get("position_name")
    if not isinstance(name, str) or "position_type" not in data:
        return None
    atc = ATC_CALLSIGN.match(" ".join(name.split()).upper())
    return PositionType(atc.group(2)) if atc else PositionType.PILOT


class SlotCreate(BaseModel):
    """An ATC position (`EGLL_TWR`) or a pilot slot (`EGLL-KJFK 1204z`), optionally time-boxed."""

    position_name: Annotated[Text, documented(CLEAN_TEXT_INPUT)] = Field(
        min_length=1, max_length=64, examples=["EGLL_TWR"]
    )
    position_type: PositionType | None = Field(
        default=None, description="ATC suffix or PILOT; derived from an ATC callsign if omitted"
    )
    callsign_pattern: Annotated[Text | None, Field(max_length=64)] = None
    is_locked: bool = False
    order_index: int | None = Field(default=None, ge=0, le=1_000_000)
    notes: Text = Field(default="", max_length=2_000)
    start_time: UTCDatetime | None = None
    end_time: UTCDatetime | None = None
    origin_icao: OptionalAirport = Field(default=None, examples=["EGLL"])
    destination_icao: OptionalAirport = Field(default=None, examples=["KJFK"])
    slot_time: OptionalTime = Field(
        default=None, description="CTOT of a departure, ETA of an arrival"
    )
    aircraft_type: OptionalAircraft = Field(default=None, examples=["B77W"])
    route: OptionalRoute = None
    callsign: OptionalCallsign = Field(default=None, description="fixed by the organizer")
    min_rating: MinRating = None

    @field_validator(*PILOT_FIELDS)
    @classmethod
    def _pilot_only(cls, value: object, info: ValidationInfo) -> object:
        kind = _kind(info.data)
        named = "position_name" in info.data  # else its own error is reported
        if value is not None and named and kind is not None and kind != PositionType.PILOT:
            name = " ".join(str(info.data["position_name"]).split()).upper()
            raise ValueError(pilot_only(str(info.field_name), name))
        return value

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
    """Lock or unlock, notes, order, times, a pilot slot's flight; only the fields sent change."""

    is_locked: bool | None = None
    notes: Text | None = Field(default=None, max_length=2_000)
    order_index: int | None = Field(default=None, ge=0, le=1_000_000)
    callsign_pattern: Annotated[Text | None, Field(max_length=64)] = None
    start_time: UTCDatetime | None = None
    end_time: UTCDatetime | None = None
    origin_icao: OptionalAirport = None
    destination_icao: OptionalAirport = None
    slot_time: OptionalTime = None
    aircraft_type: OptionalAircraft = None
    route: OptionalRoute = None
    callsign: OptionalCallsign = None
    min_rating: MinRating = None


class BookingPublic(BaseModel):
    """What everyone may see of a slot's booking: never the email."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    pilot_callsign: str
    pilot_name: str
    status: BookingStatus
    claimed_at: datetime


class SlotPreview(BaseModel):
    """A slot's fields without its id: what a dry run would create."""

    model_config = ConfigDict(from_attributes=True)

    event_id: int
    position_name: str
    position_type: PositionType
    callsign_pattern: str | None
    is_locked: bool
    order_index: int
    notes: str
    start_time: datetime | None
    end_time: datetime | None
    origin_icao: str | None
    destination_icao: str | None
    slot_time: datetime | None
    aircraft_type: str | None
    route: str | None
    callsign: str | None
    min_rating: int | None = None


class _SlotId(BaseModel):
    id: int


class SlotOut(SlotPreview, _SlotId):  # _SlotId last, so `id` comes first in the JSON
    """A slot as the API returns it."""


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


# --- generation -------------------------------------------------------------------------------

MAX_GENERATED = 2_000
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60)]


class AtcGenerate(BaseModel):
    """ATC positions x time blocks across the event, or across `from`..`to` inside it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["atc"]
    positions: list[AtcCallsign] = Field(min_length=1, max_length=200, examples=[["EGLL_TWR"]])
    block_minutes: Minutes = Field(examples=[120])
    start: UTCDatetime | None = Field(default=None, alias="from")
    end: UTCDatetime | None = Field(default=None, alias="to")
    min_rating: MinRating = None
    dry_run: bool = False


class PilotGenerate(BaseModel):
    """One pilot slot every `every_minutes` from `from` (included) to `to` (excluded)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: Literal["pilot"]
    every_minutes: Minutes = Field(examples=[4])
    start: UTCDatetime = Field(alias="from")
    end: UTCDatetime = Field(alias="to")
    origin_icao: AirportCode = Field(examples=["EGLL"])
    destinations: list[AirportCode] = Field(min_length=1, max_length=100, examples=[["KJFK"]])
    aircraft_type: OptionalAircraft = None
    dry_run: bool = False


SlotGenerate = Annotated[AtcGenerate | PilotGenerate, Field(discriminator="kind")]


class SkippedSlot(SlotPreview):
    """A generated slot left out because the event already has it."""

    existing_slot_id: int
    reason: str


class GeneratePreview(BaseModel):
    """A dry run: the slots that would be created, and those that already exist."""

    slots: list[SlotPreview]
    skipped: list[SkippedSlot]


class GenerateResult(BaseModel):
    """The slots created, and those skipped because they already existed."""

    slots: list[SlotOut]
    skipped: list[SkippedSlot]


# --- CSV import -------------------------------------------------------------------------------


class ImportProblem(BaseModel):
    """One problem of an imported file: its line (1 is the header), column (None: the row)."""

    line: int
    column: str | None
    message: str


class ImportReport(BaseModel):
    """A dry run of an import: how many rows are valid, and every problem found."""

    valid: int
    errors: list[ImportProblem]


class ImportResult(BaseModel):
    created: int
