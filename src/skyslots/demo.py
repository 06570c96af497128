"""`skyslots demo`: a demo organizer and a realistic published event at Heathrow."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.security import hash_password
from skyslots.accounts.service import user_by_email, user_create
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.service import booking_claim
from skyslots.db import utcnow
from skyslots.events.schemas import EventCreate
from skyslots.events.service import event_create
from skyslots.models import Event, Role
from skyslots.slots.schemas import SlotCreate
from skyslots.slots.service import slots_create

DEMO_EMAIL = "organizer@skyslots.demo"
DEMO_TITLE = "Heathrow Evening Rush"
ATC_POSITIONS = ["EGLL_DEL", "EGLL_GND", "EGLL_TWR", "EGLL_N_APP", "EGLL_S_APP"]
DESTINATIONS = ["KJFK", "KBOS", "EHAM", "LFPG", "EDDF", "LEMD", "LIRF", "OMDB"]
LONG_HAUL = {"KJFK", "KBOS", "OMDB"}
SAMPLE_BOOKINGS = [
    (0, "Jane Doe", "JDOE"),
    (2, "Arjun Mehta", "AMEHTA"),
    (9, "Lena Berg", "BAW117"),
]


@dataclass(frozen=True)
class DemoResult:
    event_id: int
    email: str
    password: str


def _demo_slots(start: datetime) -> list[SlotCreate]:
    atc = [
        SlotCreate(
            position_name=position,
            start_time=start + timedelta(hours=2 * block),
            end_time=start + timedelta(hours=2 * (block + 1)),
        )
        for position in ATC_POSITIONS
        for block in range(3)
    ]
    first_departure = start + timedelta(hours=1)
    pilots = []
    for i in range(30):
        destination = DESTINATIONS[i % len(DESTINATIONS)]
        ctot = first_departure + timedelta(minutes=4 * i)
        pilots.append(
            SlotCreate(
                position_name=f"EGLL-{destination} {ctot:%H%M}z",
                position_type="PILOT",
                origin_icao="EGLL",
                destination_icao=destination,
                slot_time=ctot,
                aircraft_type="B77W" if destination in LONG_HAUL else "A320",
                notes="Departure slot (CTOT)",
            )
        )
    return atc + pilots


async def demo_seed(session: AsyncSession) -> DemoResult:
    """Create (once) the demo organizer and event; each run gives the organizer a new password."""
    existing = await session.scalar(select(Event).where(Event.title == DEMO_TITLE))
    organizer = await user_by_email(session, email=DEMO_EMAIL)
    password = secrets.token_urlsafe(9)
    if organizer is not None:
        organizer.password_hash = await asyncio.to_thread(hash_password, password)
    else:
        organizer = await user_create(
            session,
            data=UserCreate(
                email=DEMO_EMAIL, name="Demo Organizer", role=Role.ORGANIZER, password=password
            ),
        )
    if existing is not None:
        return DemoResult(event_id=existing.id, email=DEMO_EMAIL, password=password)

    tomorrow = utcnow().replace(hour=16, minute=0, second=0, microsecond=0) + timedelta(days=1)
    event = await event_create(
        session,
        organizer=organizer,
        data=EventCreate(
            title=DEMO_TITLE,
            description=(
                "Join London control for a busy evening at **Heathrow**.\n\n"
                "- ATC: DEL, GND, TWR and both approach sectors in two-hour blocks\n"
                "- Pilots: departure slots every 4 minutes; please be ready at your CTOT"
            ),
            start_datetime=tomorrow,
            end_datetime=tomorrow + timedelta(hours=6),
            airport_icao="EGLL",
            status="published",
        ),
    )
    slots = await slots_create(
        session, event_id=event.id, user=organizer, items=_demo_slots(tomorrow)
    )
    for index, name, callsign in SAMPLE_BOOKINGS:
        await booking_claim(
            session,
            slot_id=slots[index].id,
            data=BookingCreate(pilot_name=name, pilot_callsign=callsign),
        )
    return DemoResult(event_id=event.id, email=DEMO_EMAIL, password=password)
