"""Field rules shared by request schemas: ids, callsigns, names, text, UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field

# Ids are 32-bit serials: a larger number is bad input, not an error from the database driver.
ID_MAX = 2**31 - 1

PILOT_CALLSIGN = re.compile(r"^[A-Z0-9]{3,10}$")
AIRPORT_ICAO = re.compile(r"^[A-Z]{4}$")
AIRCRAFT_TYPE = re.compile(r"^[A-Z0-9]{2,4}$")
ATC_CALLSIGN = re.compile(
    r"^[A-Z0-9]{2,4}(_[A-Z0-9]{1,3})?_(DEL|GND|TWR|APP|DEP|CTR|FSS|RMP|ATIS|OBS)$"
)
# Words joined by underscores: meant as an ATC callsign, so a typo must not pass as pilot text.
CALLSIGN_SHAPED = re.compile(r"^[A-Z0-9]+(_[A-Z0-9]+)+$")
ATC_SUFFIXES = ("DEL", "GND", "TWR", "APP", "DEP", "CTR", "FSS", "RMP", "ATIS", "OBS")


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.lower()}]" for c in word)


# What the input may look like, as JSON Schema patterns (the OpenAPI document shows them, and the
# validators below check them, so the two cannot drift): surrounding whitespace is trimmed and
# letters are upper-cased, but only ASCII letters and digits count (no "ß" passing as "SS").
PILOT_CALLSIGN_INPUT = r"^\s*[A-Za-z0-9]{3,10}\s*$"
AIRPORT_INPUT = r"^\s*[A-Za-z]{4}\s*$"
AIRCRAFT_INPUT = r"^\s*[A-Za-z0-9]{2,4}\s*$"
ATC_CALLSIGN_INPUT = (
    r"^\s*[A-Za-z0-9]{2,4}(_[A-Za-z0-9]{1,3})?_("
    + "|".join(_any_case(suffix) for suffix in ATC_SUFFIXES)
    + r")\s*$"
)
TEXT_INPUT = r"^[^\u0000]*$"  # PostgreSQL cannot store NUL in text
CLEAN_TEXT_INPUT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"  # and something that is not a space


def or_blank(pattern: str) -> str:
    """The pattern of a field where blank means "none" (BlankIsNone)."""
    return rf"^\s*$|{pattern}"


def documented(pattern: str) -> Any:
    """The pattern shown in the OpenAPI document only: the field's validator checks it (after
    its own trimming), so the message stays ours and not the regex's."""
    return Field(json_schema_extra={"pattern": pattern})


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def as_utc(value: datetime) -> datetime:
    """Aware datetimes become UTC; naive ones are taken as UTC (Zulu), as VATSIM thinks."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range in UTC") from None


def pilot_callsign(value: str) -> str:
    if not _matches(PILOT_CALLSIGN_INPUT, value):
        raise ValueError("a callsign is 3 to 10 letters and digits, e.g. BAW123")
    return value.strip().upper()


def airport_icao(value: str) -> str:
    """A 4-letter ICAO airport code, stored upper-case (as an event's `airport_icao`)."""
    if not _matches(AIRPORT_INPUT, value):
        raise ValueError("an airport is a 4-letter ICAO code, e.g. EGLL")
    return value.strip().upper()


def aircraft_type(value: str) -> str:
    """An ICAO aircraft type designator (2 to 4 letters and digits), stored upper-case."""
    if not _matches(AIRCRAFT_INPUT, value):
        raise ValueError("an aircraft type is 2 to 4 letters and digits (ICAO), e.g. B77W")
    return value.strip().upper()


def atc_callsign(value: str) -> str:
    """An ATC position callsign such as EGLL_TWR or EGLL_N_APP, stored upper-case."""
    if not _matches(ATC_CALLSIGN_INPUT, value):
        shown = value.strip().upper()
        raise ValueError(f"{shown!r} is not an ATC callsign such as EGLL_TWR or EGLL_N_APP")
    return value.strip().upper()


def no_nul(value: str) -> str:
    """Refuse NUL characters, which PostgreSQL cannot store in text."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def clean_text(value: str) -> str:
    """Trim and collapse inner whitespace; blank is refused."""
    value = " ".join(no_nul(value).split())
    if not value:
        raise ValueError("must not be blank")
    return value


def iso_datetime(value: object) -> object:
    """A time is an ISO 8601 string (or a datetime): not a number read as Unix seconds."""
    if isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("a time is an ISO 8601 date-time, e.g. 2026-05-01T18:00:00Z")
    return value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


RowId = Annotated[int, Path(ge=1, le=ID_MAX)]
Offset = Annotated[int, Query(ge=0, le=ID_MAX)]
UTCDatetime = Annotated[datetime, BeforeValidator(iso_datetime), AfterValidator(as_utc)]
Text = Annotated[str, AfterValidator(no_nul), documented(TEXT_INPUT)]
PilotCallsign = Annotated[str, AfterValidator(pilot_callsign), documented(PILOT_CALLSIGN_INPUT)]
AirportCode = Annotated[str, AfterValidator(airport_icao), documented(AIRPORT_INPUT)]
AircraftType = Annotated[str, AfterValidator(aircraft_type), documented(AIRCRAFT_INPUT)]
AtcCallsign = Annotated[str, AfterValidator(atc_callsign), documented(ATC_CALLSIGN_INPUT)]
CleanText = Annotated[str, AfterValidator(clean_text), documented(CLEAN_TEXT_INPUT)]
BlankIsNone = BeforeValidator(blank_to_none)
# Optional fields where blank means none: the document's pattern admits the blank too.
OptionalPilotCallsign = Annotated[
    Annotated[str, AfterValidator(pilot_callsign), documented(or_blank(PILOT_CALLSIGN_INPUT))]
    | None,
    BlankIsNone,
]
# A booker's name: required of visitors, left out (or blank, from a form) when signed in.
OptionalName = Annotated[
    Annotated[
        str,
        AfterValidator(clean_text),
        Field(max_length=100),
        documented(or_blank(CLEAN_TEXT_INPUT)),
    ]
    | None,
    BlankIsNone,
]
BookerName = Annotated[
    OptionalName,
    Field(
        examples=["Jane Doe"], description="required unless signed in (the account's name is used)"
    ),
]
OptionalAirportCode = Annotated[
    Annotated[str, AfterValidator(airport_icao), documented(or_blank(AIRPORT_INPUT))] | None,
    BlankIsNone,
]
OptionalAircraftType = Annotated[
    Annotated[str, AfterValidator(aircraft_type), documented(or_blank(AIRCRAFT_INPUT))] | None,
    BlankIsNone,
]
