"""A slot's occupant changing: a hold, offer or claim ending (the slot passing to its waitlist in
the same unit of work), a hold or offer that ran out, and the message of the slot's new state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import SYSTEM, audit_record
from skyslots.bookings import repository
from skyslots.bookings.rules import Occupant, occupied, pending_kind
from skyslots.db import KeepChanges
from skyslots.discord.triggers import announce_free_slot
from skyslots.errors import Conflict
from skyslots.models import BookingStatus, WaitlistStatus
from skyslots.outbox.service import OutboxRow
from skyslots.realtime.messages import slot_message
from skyslots.roster import AuditEntry, journal_change
from skyslots.slots.repository import public_slot, with_occupant
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
            # A hold given up, an offer declined, a pending booking whose booker deleted it.
            BookingStatus.CANCELLED: (
                BookingStatus.HELD,
                BookingStatus.OFFERED,
                BookingStatus.UNCONFIRMED,
            ),
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
        kind = pending_kind(occupant.status)
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
    if promote and promoted is None and occupant.status != BookingStatus.HELD:
        await announce_free_slot(session, context=context, freed=occupant.id, now=now)
    return True, promoted


class KeptConflict(Conflict, KeepChanges):
    """A refusal after the unit of work freed an expired hold and promoted its waitlist."""


async def slot_changed(
    session: AsyncSession,
    *,
    context: Row[Any],
    occupant: Occupant | None,
    change: str,
    audit: AuditEntry | None,
    now: datetime,
    only_published: bool = False,
    outbox: Sequence[OutboxRow] = (),
) -> int | None:
    """Journal the slot of `context` with its new occupant (built from data in hand), and the
    `outbox` rows the change causes."""
    values = with_occupant(
        context._mapping, **(occupant.columns() if occupant else {"occupant_id": None})
    )
    message = slot_message(event_id=context.event_id, change=change, slot=public_slot(values, now))
    return await journal_change(
        session,
        event_id=context.event_id,
        message=message,
        audit=audit,
        only_published=only_published,
        now=now,
        outbox=outbox,
    )


async def free_or_refuse(
    session: AsyncSession, *, context: Row[Any], occupant: Occupant, now: datetime
) -> None:
    """The slot has an occupant: refuse, unless it is a hold or offer whose time ran out; that
    one is ended now (its slot passing to the waitlist, which then also refuses)."""
    if not occupant.is_due(now):
        raise occupied(context, occupant)
    _, promoted = await occupant_ended(
        session, context=context, occupant=occupant, status=BookingStatus.EXPIRED, now=now
    )
    if promoted is not None:
        await slot_changed(
            session,
            context=context,
            occupant=promoted,
            change="waitlist.promoted",
            audit=None,
            now=now,
        )
        refusal = occupied(context, promoted)
        raise KeptConflict(refusal.detail, code=refusal.code)
