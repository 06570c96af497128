"""The event's roster version: one step per committed change, the realtime layer's clock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import Event


async def roster_changed(
    session: AsyncSession, *, event_id: int, change: str, data: dict[str, Any]
) -> int:
    """Bump the event's version for `change` and return the new version.

    Call it last in a unit of work: the UPDATE locks the event row until commit, which is what
    keeps versions contiguous per event across processes.
    """
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(version=Event.version + 1)
        .returning(Event.version)
    )
    return result.scalar_one()
