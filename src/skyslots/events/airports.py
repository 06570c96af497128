"""ICAO airport look-ups from the airportsdata package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import airportsdata


@dataclass(frozen=True)
class Airport:
    icao: str
    name: str
    city: str
    country: str
    timezone: str


@lru_cache(maxsize=1)
def _airports() -> dict[str, airportsdata.Airport]:
    return airportsdata.load("ICAO")


def airport_lookup(icao: str) -> Airport | None:
    """The airport with this ICAO code, or None when airportsdata does not know it."""
    row = _airports().get(icao.upper())
    if row is None:
        return None
    return Airport(
        icao=row["icao"],
        name=row["name"],
        city=row["city"],
        country=row["country"],
        timezone=row["tz"],
    )
