"""Holds and waitlist offers that run out: decided when someone next touches the slot, or by the
sweep, in a unit of work that also passes the slot on to its waitlist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import SYSTEM, audit_record
from skyslots.bookings import repository
from skyslots.bookings.rules import Occupant
from skyslots.models import BookingStatus, WaitlistStatus
from skyslots.slots.service import slot_label
from skyslots.waitlist.promotion import offer_ended, promote_waiter


async def occupant_ended(
    session: AsyncSession,
    *,
    context: Row[Any],
    occupant: Occupant,
    status: BookingStatus,
    now: datetime,
    promote: bool = True,
) -> tuple[bool, Occupant | None]:
    """End `occupant` (a hold or offer expiring or cancelled, a claim released) and promote the
    slot's waitlist. Returns (ended, new occupant): ended is False when it had ended already.
    """
    connection = await session.connection()
    if status == BookingStatus.EXPIRED:
        ended = await repository.expire_pending(connection, occupant_id=occupant.id, now=now)
    else:
        sources = {
            BookingStatus.RELEASED: (BookingStatus.CLAIMED,),
            BookingStatus.CANCELLED: (BookingStatus.HELD, BookingStatus.OFFERED),
        }[status]
        ended = await repository.end_occupant(
            connection, occupant_id=occupant.id, from_statuses=sources, status=status, now=now
        )
    if not ended:
        return False, None
    if occupant.status == BookingStatus.OFFERED:
        entry_status = WaitlistStatus.EXPIRED if status == BookingStatus.EXPIRED else None
        if entry_status is not None:
            await offer_ended(session, booking_id=occupant.id, status=entry_status, now=now)
    if status == BookingStatus.EXPIRED:
        kind = "offer" if occupant.status == BookingStatus.OFFERED else "hold"
        audit_record(
            session,
            actor=SYSTEM,
            action=f"{kind}.expired",
            event_id=context.event_id,
            payload={
                "booking_id": occupant.id,
                "slot_id": context.id,
                "label": slot_label(context),
            },
        )
    promoted = await promote_waiter(session, context=context, now=now) if promote else None
    return True, promoted
