"""The public picture of an event: its fields and every slot with its current occupant."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.events.schemas import EventDetail, EventOut
from skyslots.events.service import event_visible
from skyslots.models import User
from skyslots.slots.repository import public_slot_models


async def event_detail(session: AsyncSession, *, event_id: int, viewer: User | None) -> EventDetail:
    """The event with its roster, as GET /api/events/{id} returns it."""
    event = await event_visible(session, event_id=event_id, viewer=viewer)
    slots = await public_slot_models(await session.connection(), event_id=event_id)
    return EventDetail(**EventOut.model_validate(event).model_dump(), slots=slots)
