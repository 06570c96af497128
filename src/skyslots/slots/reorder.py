"""Moving a slot up or down the roster order, through `slot_update` (so it is audited)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.events.service import event_managed
from skyslots.models import User
from skyslots.slots.schemas import SlotUpdate
from skyslots.slots.service import slot_get, slot_update, slots_with_bookings


async def slot_move(session: AsyncSession, *, slot_id: int, user: User, offset: int) -> None:
    """Swap the slot with its neighbour `offset` (-1 up, +1 down) places away; renumber 0..n-1."""
    slot = await slot_get(session, slot_id=slot_id)
    await event_managed(session, event_id=slot.event_id, user=user)
    ordered = [s for s, _ in await slots_with_bookings(session, event_id=slot.event_id)]
    index = next(i for i, s in enumerate(ordered) if s.id == slot_id)
    target = index + offset
    if not 0 <= target < len(ordered):
        return
    ordered[index], ordered[target] = ordered[target], ordered[index]
    for position, item in enumerate(ordered):
        if item.order_index != position and item.id is not None:
            await slot_update(
                session, slot_id=item.id, user=user, data=SlotUpdate(order_index=position)
            )
