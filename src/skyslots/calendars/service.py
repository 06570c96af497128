"""What the calendars show, read from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import booking_link_token
from skyslots.bookings.manage import booking_for_token
from skyslots.calendars.build import StaffedBlock, booking_calendar, event_calendar
from skyslots.errors import NotFound
from skyslots.models import Booking, BookingStatus, Event, EventStatus, PositionType, Slot
from skyslots.slots.service import slot_label

LISTED = (EventStatus.PUBLISHED.value, EventStatus.CANCELLED.value)


async def calendar_event(session: AsyncSession, *, event_id: int) -> Event:
    """The event if its calendar is public (published or cancelled); drafts are 404."""
    event = await session.get(Event, event_id)
    if event is None or event.status not in LISTED:
        raise NotFound(f"Event {event_id} does not exist.", code="event_not_found")
    return event


async def staffed_blocks(session: AsyncSession, *, event_id: int) -> list[StaffedBlock]:
    """The event's ATC slots that have a claimed booking, in roster order."""
    rows = await session.execute(
        select(Slot, Booking.pilot_callsign, Booking.claimed_at)
        .join(Booking, Booking.slot_id == Slot.id)
        .where(
            Slot.event_id == event_id,
            Slot.position_type != PositionType.PILOT.value,
            Booking.status == BookingStatus.CLAIMED.value,
        )
        .order_by(Slot.order_index, Slot.id)
    )
    return [StaffedBlock(slot, callsign or "", claimed) for slot, callsign, claimed in rows]


async def event_calendar_now(
    session: AsyncSession, *, event_id: int, public_url: str
) -> tuple[int, bytes]:
    """The event's calendar as the database has it now, with its roster version."""
    event = await calendar_event(session, event_id=event_id)
    blocks = await staffed_blocks(session, event_id=event_id)
    return event.version, event_calendar(event, blocks, public_url=public_url)


def manage_link(session: AsyncSession, booking: Booking, public_url: str) -> str:
    token = booking_link_token(session, booking)
    return f"{public_url}/bookings/{booking.id}/manage?token={token}"


def booking_ics(
    session: AsyncSession, *, booking: Booking, slot: Slot, event: Event, public_url: str
) -> bytes:
    """A booker's calendar file: the API's and the confirmation mail's attachment."""
    assert booking.id is not None
    return booking_calendar(
        booking_id=booking.id,
        label=slot_label(slot),
        callsign=booking.pilot_callsign or "",
        active=booking.status == BookingStatus.CLAIMED,
        slot=slot,
        event=event,
        public_url=public_url,
        manage_link=manage_link(session, booking, public_url),
        stamp=booking.released_at or booking.claimed_at,
    )


async def booking_calendar_for_token(
    session: AsyncSession, *, booking_id: int, token: str, public_url: str
) -> bytes:
    """The booking's calendar if `token` manages it (else 404 or 403, as the manage page)."""
    managed = await booking_for_token(session, booking_id=booking_id, manage_token=token)
    return booking_ics(
        session,
        booking=managed.booking,
        slot=managed.slot,
        event=managed.event,
        public_url=public_url,
    )
