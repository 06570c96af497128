"""The co-organizer lookups the authorization check needs (no imports of the events domain)."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import EventOrganizer


async def co_organizes(session: AsyncSession, *, event_id: int, user_id: int) -> bool:
    """Whether `user_id` is a co-organizer of `event_id`."""
    row = exists().where(EventOrganizer.event_id == event_id, EventOrganizer.user_id == user_id)
    return bool(await session.scalar(select(row)))


async def co_organizes_any(session: AsyncSession, *, user_id: int) -> bool:
    """Whether `user_id` co-organizes some event (which opens the organizer area to them)."""
    return bool(await session.scalar(select(exists().where(EventOrganizer.user_id == user_id))))


async def co_organized_event_ids(session: AsyncSession, *, user_id: int) -> list[int]:
    rows = await session.scalars(
        select(EventOrganizer.event_id).where(EventOrganizer.user_id == user_id)
    )
    return list(rows)
