from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyslots.events.airports import airport_lookup
from skyslots.models import EventStatus, WaitlistMode
from skyslots.models.event import (
    DEFAULT_REMINDER_OFFSETS,
    MAX_CONFIRM_SECONDS,
    MAX_HOLD_SECONDS,
    MAX_OFFER_SECONDS,
    MAX_REMINDER_MINUTES,
    MAX_REMINDERS,
    MAX_SLOTS_PER_PERSON,
    MIN_CONFIRM_SECONDS,
)
from skyslots.slots.schemas import SlotPublic
from skyslots.validation import BlankIsNone, CleanText, Text, UTCDatetime

ICAO = Annotated[str, Field(pattern=r"^[A-Za-z]{4}$", examples=["EGLL"])]
HoldSeconds = Annotated[
    int, Field(ge=0, le=MAX_HOLD_SECONDS, description="how long a hold lasts; 0 turns holds off")
]
OfferSeconds = Annotated[
    int, Field(ge=60, le=MAX_OFFER_SECONDS, description="how long a waitlist offer lasts")
]
ConfirmSeconds = Annotated[
    int,
    Field(
        ge=MIN_CONFIRM_SECONDS,
        le=MAX_CONFIRM_SECONDS,
        description="with email confirmation: how long a booking waits for its link",
    ),
]
SlotsPerPerson = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_SLOTS_PER_PERSON,
        description="claims one callsign, and one email, may hold in the event",
    ),
]

ReminderOffsets = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_REMINDER_MINUTES)]],
    Field(
        max_length=MAX_REMINDERS,
        description="minutes before a booking's slot starts when its booker gets a reminder mail",
    ),
]

DISCORD_WEBHOOK = (
    r"^https://(discord\.com|discordapp\.com|ptb\.discord\.com|canary\.discord\.com)"
    r"/api/webhooks/\d{5,25}/[A-Za-z0-9_-]{20,100}$"
)
DiscordWebhook = Annotated[
    Annotated[
        str,
        Field(
            pattern=DISCORD_WEBHOOK,
            description="a Discord channel webhook: https://discord.com/api/webhooks/<id>/<token>",
        ),
    ]
    | None,
    BlankIsNone,
]


def _reminder_offsets(value: list[int] | None) -> list[int] | None:
    """Each offset once, the earliest reminder first."""
    return None if value is None else sorted(set(value), reverse=True)


def _valid_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {value!r}") from exc
    return value


class EventFields(BaseModel):
    """Fields an organizer sets; shared by create and update."""

    title: Annotated[CleanText, Field(max_length=200)]
    description: Text = Field(default="", max_length=20_000)
    start_datetime: UTCDatetime
    end_datetime: UTCDatetime
    airport_icao: ICAO
    timezone: Annotated[str | None, BlankIsNone] = Field(default=None, max_length=64)
    status: EventStatus = EventStatus.DRAFT
    booking_opens_at: Annotated[UTCDatetime | None, BlankIsNone] = None
    booking_closes_at: Annotated[UTCDatetime | None, BlankIsNone] = None
    hold_seconds: HoldSeconds = 300
    waitlist_mode: WaitlistMode = WaitlistMode.OFFER
    offer_seconds: OfferSeconds = 1800
    max_slots_per_person: SlotsPerPerson = 1
    reminder_offsets_minutes: ReminderOffsets = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )
    discord_webhook_url: DiscordWebhook = None
    require_email_confirmation: bool = False
    confirm_seconds: ConfirmSeconds = 3600
    booking_requires_login: bool = Field(
        default=False, description="only signed-in members may book, hold or wait"
    )
    apply_rating_defaults: bool = Field(
        default=False,
        description="ATC slots without a min_rating require their type's usual VATSIM rating "
        "(DEL/GND S1, TWR S2, APP/DEP S3, CTR/FSS C1)",
    )

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _valid_timezone(v)))
    _reminders = field_validator("reminder_offsets_minutes")(
        classmethod(lambda cls, v: _reminder_offsets(v))
    )


class EventCreate(EventFields):
    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        self.airport_icao = self.airport_icao.upper()
        if self.end_datetime <= self.start_datetime:
            raise ValueError("end_datetime must be after start_datetime")
        if self.timezone is None:
            airport = airport_lookup(self.airport_icao)
            if airport is None:
                raise ValueError(
                    f"unknown airport {self.airport_icao}: give its IANA timezone as well"
                )
            self.timezone = airport.timezone
        if (
            self.booking_opens_at
            and self.booking_closes_at
            and self.booking_closes_at <= self.booking_opens_at
        ):
            raise ValueError("booking_closes_at must be after booking_opens_at")
        return self


# An update may leave these out but not send null (the service refuses it with a 422).
NOT_CLEARABLE = (
    "title",
    "description",
    "start_datetime",
    "end_datetime",
    "airport_icao",
    "status",
    "hold_seconds",
    "waitlist_mode",
    "offer_seconds",
    "max_slots_per_person",
    "reminder_offsets_minutes",
    "require_email_confirmation",
    "confirm_seconds",
    "booking_requires_login",
    "apply_rating_defaults",
)


def _not_nullable(schema: dict[str, Any]) -> None:
    """The document shows NOT_CLEARABLE fields as optional but never null."""
    for name in NOT_CLEARABLE:
        field = schema["properties"][name]
        field.pop("default", None)
        options = [o for o in field.pop("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            field.update(options[0])
        elif options:
            field["anyOf"] = options


class EventUpdate(BaseModel):
    """A partial update: only the fields sent change (null clears a booking window bound)."""

    model_config = ConfigDict(json_schema_extra=_not_nullable)

    title: Annotated[CleanText | None, Field(max_length=200)] = None
    description: Text | None = Field(default=None, max_length=20_000)
    start_datetime: UTCDatetime | None = None
    end_datetime: UTCDatetime | None = None
    airport_icao: ICAO | None = None
    timezone: Annotated[str | None, BlankIsNone] = Field(default=None, max_length=64)
    status: EventStatus | None = None
    booking_opens_at: Annotated[UTCDatetime | None, BlankIsNone] = None
    booking_closes_at: Annotated[UTCDatetime | None, BlankIsNone] = None
    hold_seconds: HoldSeconds | None = None
    waitlist_mode: WaitlistMode | None = None
    offer_seconds: OfferSeconds | None = None
    max_slots_per_person: SlotsPerPerson | None = None
    reminder_offsets_minutes: ReminderOffsets | None = None
    require_email_confirmation: bool | None = None
    confirm_seconds: ConfirmSeconds | None = None
    booking_requires_login: bool | None = None
    apply_rating_defaults: bool | None = None
    discord_webhook_url: DiscordWebhook = None

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _valid_timezone(v)))
    _reminders = field_validator("reminder_offsets_minutes")(
        classmethod(lambda cls, v: _reminder_offsets(v))
    )


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    start_datetime: datetime
    end_datetime: datetime
    airport_icao: str
    airport_name: str
    timezone: str
    organizer_id: int
    status: EventStatus
    booking_opens_at: datetime | None
    booking_closes_at: datetime | None
    hold_seconds: int
    waitlist_mode: WaitlistMode
    offer_seconds: int
    max_slots_per_person: int
    reminder_offsets_minutes: list[int]
    require_email_confirmation: bool
    confirm_seconds: int
    booking_requires_login: bool
    apply_rating_defaults: bool
    version: int
    created_at: datetime
    updated_at: datetime


class EventDetail(EventOut):
    slots: list[SlotPublic]


class EventPage(BaseModel):
    items: list[EventOut]
    total: int
    limit: int
    offset: int
