"""GET /api/airports/{icao}: the name and timezone the event form fills in from an ICAO code."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from skyslots.errors import NotFound
from skyslots.events.airports import airport_lookup

router = APIRouter(prefix="/api", tags=["airports"])


class AirportOut(BaseModel):
    icao: str
    name: str
    city: str
    country: str
    timezone: str


@router.get("/airports/{icao}")
async def get_airport(icao: str) -> AirportOut:
    """An airport by ICAO code (from airportsdata); 404 when unknown."""
    airport = airport_lookup(icao) if len(icao) == 4 and icao.isalnum() else None
    if airport is None:
        raise NotFound(f"Unknown airport {icao.upper()}.", code="airport_not_found")
    return AirportOut(**airport.__dict__)
