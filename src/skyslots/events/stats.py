"""Roster figures per event for the organizer's dashboard, in one grouped query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import Booking, BookingStatus, Slot


@dataclass(frozen=True)
class SlotCounts:
    total: int = 0
    taken: int = 0
    locked: int = 0

    @property
    def free(self) -> int:
        return self.total - self.taken - self.locked


async def slot_counts(session: AsyncSession, *, event_ids: Sequence[int]) -> dict[int, SlotCounts]:
    """Slots, claimed slots and locked free slots of each event (events without slots: zeros)."""
    if not event_ids:
        return {}
    claimed = and_(Booking.slot_id == Slot.id, Booking.status == BookingStatus.CLAIMED)
    rows = await session.execute(
        select(
            Slot.event_id,
            func.count(Slot.id),
            func.count(Booking.id),
            func.sum(case((and_(Slot.is_locked, Booking.id.is_(None)), 1), else_=0)),
        )
        .outerjoin(Booking, claimed)
        .where(Slot.event_id.in_(event_ids))
        .group_by(Slot.event_id)
    )
    counts = {event_id: SlotCounts() for event_id in event_ids}
    for event_id, total, taken, locked in rows:
        counts[event_id] = SlotCounts(total=total, taken=taken, locked=int(locked or 0))
    return counts
