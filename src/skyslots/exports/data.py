"""What an export shows, read in one unit of work: the event, its roster and its bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.events.schemas import EventDetail, EventOut
from skyslots.events.service import event_get
from skyslots.models import Booking, BookingStatus, Slot
from skyslots.slots.repository import public_slot_models

# Bookings an export lists: every claim, including the released ones and those awaiting their
# email's confirmation (holds and offers are nobody's booking yet).
LISTED = (BookingStatus.CLAIMED, BookingStatus.UNCONFIRMED, BookingStatus.RELEASED)


@dataclass(frozen=True)
class BookingLine:
    booking_id: int
    position_name: str
    position_type: str
    start_time: datetime | None
    end_time: datetime | None
    slot_time: datetime | None
    origin_icao: str | None
    destination_icao: str | None
    callsign: str
    name: str
    email: str | None
    status: str
    claimed_at: datetime
    released_at: datetime | None
    notes: str


@dataclass(frozen=True)
class ExportData:
    event: EventDetail
    version: int
    bookings: list[BookingLine]


async def export_data(session: AsyncSession, *, event_id: int) -> ExportData:
    """The event with its roster (as the event page shows it) and every booking ever made."""
    event = await event_get(session, event_id=event_id)
    slots = await public_slot_models(await session.connection(), event_id=event_id)
    detail = EventDetail(**EventOut.model_validate(event).model_dump(), slots=slots)
    rows = await session.execute(
        select(Booking, Slot)
        .join(Slot, Slot.id == Booking.slot_id)  # type: ignore[arg-type]
        .where(
            Booking.event_id == event_id,  # type: ignore[arg-type]
            Booking.status.in_([s.value for s in LISTED]),  # type: ignore[attr-defined]
        )
        .order_by(Slot.order_index, Slot.start_time, Slot.slot_time, Slot.id, Booking.claimed_at)
    )
    return ExportData(detail, event.version, [_line(b, s) for b, s in rows.all()])


def _line(booking: Booking, slot: Slot) -> BookingLine:
    return BookingLine(
        booking_id=booking.id or 0,
        position_name=slot.position_name,
        position_type=slot.position_type,
        start_time=slot.start_time,
        end_time=slot.end_time,
        slot_time=slot.slot_time,
        origin_icao=slot.origin_icao,
        destination_icao=slot.destination_icao,
        callsign=booking.pilot_callsign or "",
        name=booking.pilot_name or "",
        email=booking.email,
        status=booking.status,
        claimed_at=booking.claimed_at,
        released_at=booking.released_at,
        notes=booking.notes,
    )
