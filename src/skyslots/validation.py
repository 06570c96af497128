"""Field rules shared by request schemas: ids, callsigns, names, text, UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

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


def as_utc(value: datetime) -> datetime:
    """Aware datetimes become UTC; naive ones are taken as UTC (Zulu), as VATSIM thinks."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range in UTC") from None


def pilot_callsign(value: str) -> str:
    value = value.strip().upper()
    if not PILOT_CALLSIGN.match(value):
        raise ValueError("a callsign is 3 to 10 letters and digits, e.g. BAW123")
    return value


def airport_icao(value: str) -> str:
    """A 4-letter ICAO airport code, stored upper-case (as an event's `airport_icao`)."""
    value = value.strip().upper()
    if not AIRPORT_ICAO.match(value):
        raise ValueError("an airport is a 4-letter ICAO code, e.g. EGLL")
    return value


def aircraft_type(value: str) -> str:
    """An ICAO aircraft type designator (2 to 4 letters and digits), stored upper-case."""
    value = value.strip().upper()
    if not AIRCRAFT_TYPE.match(value):
        raise ValueError("an aircraft type is 2 to 4 letters and digits (ICAO), e.g. B77W")
    return value


def atc_callsign(value: str) -> str:
    """An ATC position callsign such as EGLL_TWR or EGLL_N_APP, stored upper-case."""
    value = value.strip().upper()
    if not ATC_CALLSIGN.match(value):
        raise ValueError(f"{value!r} is not an ATC callsign such as EGLL_TWR or EGLL_N_APP")
    return value


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


def blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


RowId = Annotated[int, Path(ge=1, le=ID_MAX)]
Offset = Annotated[int, Query(ge=0, le=ID_MAX)]
UTCDatetime = Annotated[datetime, AfterValidator(as_utc)]
Text = Annotated[str, AfterValidator(no_nul)]
PilotCallsign = Annotated[str, AfterValidator(pilot_callsign)]
AirportCode = Annotated[str, AfterValidator(airport_icao)]
AircraftType = Annotated[str, AfterValidator(aircraft_type)]
AtcCallsign = Annotated[str, AfterValidator(atc_callsign)]
CleanText = Annotated[str, AfterValidator(clean_text)]
BlankIsNone = BeforeValidator(blank_to_none)
