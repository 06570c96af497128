"""The booker's view of one booking, opened with its one-time manage token."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import booking_token_opens
from skyslots.errors import Forbidden, NotFound
from skyslots.models import Booking, Event, Slot


@dataclass(frozen=True)
class ManagedBooking:
    booking: Booking
    slot: Slot
    event: Event


async def booking_for_token(
    session: AsyncSession, *, booking_id: int, manage_token: str
) -> ManagedBooking:
    """The booking with its slot and event if `manage_token` is its token: 404, or 403."""
    row = (
        await session.execute(
            select(Booking, Slot, Event)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Event, Event.id == Booking.event_id)
            .where(Booking.id == booking_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    booking, slot, event = row
    if not booking_token_opens(session, manage_token, booking):
        raise Forbidden("This manage link does not belong to that booking.", code="bad_token")
    return ManagedBooking(booking=booking, slot=slot, event=event)
