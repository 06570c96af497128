"""The public picture of an event: its fields and every slot with its current booking."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.events.schemas import EventDetail, EventOut
from skyslots.events.service import event_visible
from skyslots.models import Booking, Slot, User
from skyslots.slots.schemas import BookingPublic, SlotOut, SlotPublic
from skyslots.slots.service import slots_with_bookings


def slot_public(slot: Slot, booking: Booking | None) -> SlotPublic:
    """A slot as everyone may see it (the booking's email never leaves the server)."""
    return SlotPublic(
        **SlotOut.model_validate(slot).model_dump(),
        booking=BookingPublic.model_validate(booking) if booking else None,
    )


async def event_detail(session: AsyncSession, *, event_id: int, viewer: User | None) -> EventDetail:
    """The event with its roster, as GET /api/events/{id} returns it."""
    event = await event_visible(session, event_id=event_id, viewer=viewer)
    rows = await slots_with_bookings(session, event_id=event_id)
    return EventDetail(
        **EventOut.model_validate(event).model_dump(),
        slots=[slot_public(slot, booking) for slot, booking in rows],
    )
