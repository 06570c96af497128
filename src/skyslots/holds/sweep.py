"""The sweep: holds and offers whose time ran out are ended and their slots passed on.

Nobody waits for it (a claim decides expiry itself); it makes freed slots show as free and hands
expired offers to the next person in line. Run every few seconds by beat, or
in-process without a broker (skyslots.jobs).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.bookings import repository
from skyslots.bookings.occupancy import occupant_ended, slot_changed
from skyslots.bookings.rules import Occupant, pending_kind
from skyslots.db import Database, utcnow
from skyslots.models import Booking, BookingStatus
from skyslots.models.booking import PENDING

log = logging.getLogger(__name__)

BATCH = 200


async def pending_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Ids of holds and offers that ran out, oldest first."""
    rows = await session.scalars(
        select(Booking.id)
        .where(Booking.status.in_(list(PENDING)), Booking.expires_at <= now)
        .order_by(Booking.expires_at)
        .limit(BATCH)
    )
    return list(rows)


async def pending_expire(
    session: AsyncSession, *, booking_id: int, now: datetime | None = None
) -> bool:
    """End one hold or offer that ran out, promote its slot's waitlist, announce the slot."""
    now = now or utcnow()
    booking = await session.get(Booking, booking_id)
    if booking is None:
        return False
    connection = await session.connection()
    context = await repository.slot_context(connection, booking.slot_id)
    occupant = Occupant.of(context._mapping) if context is not None else None
    if context is None or occupant is None or occupant.id != booking_id or not occupant.is_due(now):
        return False
    ended, promoted = await occupant_ended(
        session, context=context, occupant=occupant, status=BookingStatus.EXPIRED, now=now
    )
    if ended:
        change = f"{pending_kind(occupant.status)}.expired"
        await slot_changed(
            session, context=context, occupant=promoted, change=change, audit=None, now=now
        )
    return ended


async def sweep_once(database: Database, *, now: datetime | None = None) -> int:
    """Expire everything due, one unit of work per slot; returns how many ended."""
    now = now or utcnow()
    ended = 0
    for booking_id in await database.read(pending_due, now=now):
        if await database.transaction(pending_expire, booking_id=booking_id, now=now):
            ended += 1
    return ended
