"""Temporary holds: a slot kept for one booker while they fill in the form (`hold_seconds`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.security import manage_token_matches, new_manage_token
from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.occupancy import (
    free_or_refuse,
    occupant_cancelled,
    occupant_ended,
    slot_changed,
)
from skyslots.bookings.rules import Occupant, ensure_bookable, occupied
from skyslots.constraints import violated_constraint
from skyslots.db import Retry, utcnow
from skyslots.errors import Conflict, Forbidden, NotFound
from skyslots.models import Booking, BookingStatus, User
from skyslots.models.booking import CLIENT_SEAT, SLOT_OCCUPIED
from skyslots.ratings import ensure_may_take
from skyslots.roster import AuditEntry
from skyslots.slots.service import slot_label

HOLDS_PER_CLIENT = 2  # one client address holds at most this many slots of an event at once
ANONYMOUS = Actor(label="booker:anonymous")


@dataclass(frozen=True)
class Hold:
    hold_id: int
    slot_id: int
    event_id: int
    hold_token: str
    expires_at: datetime


async def _free_seat(
    session: AsyncSession, *, event_id: int, client_key: str, now: datetime
) -> int:
    """The client's lowest free hold number; its holds that ran out are ended first."""
    connection = await session.connection()
    taken = set()
    for hold in await repository.client_holds(connection, event_id=event_id, client_key=client_key):
        if hold.expires_at > now:
            taken.add(hold.client_seat)
            continue
        context = await repository.slot_context(connection, hold.slot_id)
        occupant = Occupant.of(context._mapping) if context is not None else None
        if context is not None and occupant is not None and occupant.id == hold.id:
            _, promoted = await occupant_ended(
                session, context=context, occupant=occupant, status=BookingStatus.EXPIRED, now=now
            )
            await slot_changed(
                session,
                context=context,
                occupant=promoted,
                change="hold.expired",
                audit=None,
                now=now,
            )
    seat = next((n for n in range(1, HOLDS_PER_CLIENT + 1) if n not in taken), None)
    if seat is None:
        raise Conflict(
            f"You already hold {HOLDS_PER_CLIENT} slots of this event; book or cancel one first.",
            code="hold_limit",
        )
    return seat


async def hold_create(
    session: AsyncSession,
    *,
    slot_id: int,
    client_key: str,
    user: User | None = None,
    now: datetime | None = None,
) -> Hold:
    """Hold a free slot for `hold_seconds`; 409 when it is held, taken, or holds are off; the
    slot's rating rules apply as to a claim (403 `login_required`, 409 `rating_too_low`)."""
    now = now or utcnow()
    connection = await session.connection()
    context = await repository.slot_context(connection, slot_id)
    if context is None:
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    if context.hold_seconds == 0:
        raise Conflict(
            f"{context.title} does not hold slots; book directly.", code="holds_disabled"
        )
    ensure_bookable(context, context, now)
    ensure_may_take(context, user)
    occupant = Occupant.of(context._mapping)
    if occupant is not None:
        await free_or_refuse(session, context=context, occupant=occupant, now=now)
    seat = await _free_seat(session, event_id=context.event_id, client_key=client_key, now=now)
    token, token_hash = new_manage_token()
    expires_at = now + timedelta(seconds=context.hold_seconds)
    try:
        hold_id = await repository.insert_booking(
            connection,
            {
                "slot_id": slot_id,
                "event_id": context.event_id,
                "status": BookingStatus.HELD.value,
                "claimed_at": now,
                "expires_at": expires_at,
                "notes": "",
                "manage_token_hash": token_hash,
                "client_key": client_key,
                "client_seat": seat,
            },
        )
    except IntegrityError as error:
        name = violated_constraint(error)
        if name == CLIENT_SEAT:
            raise Retry() from None
        if name != SLOT_OCCUPIED:
            raise
        await session.rollback()
        fresh = await repository.slot_context(await session.connection(), slot_id)
        holder = Occupant.of(fresh._mapping) if fresh is not None else None
        if holder is None:
            raise Conflict(f"{slot_label(context)} was just taken.", code="slot_taken") from None
        raise occupied(context, holder) from None
    hold = Occupant(
        id=hold_id,
        status=BookingStatus.HELD,
        callsign=None,
        name=None,
        claimed_at=now,
        expires_at=expires_at,
    )
    payload = {"hold_id": hold_id, "slot_id": slot_id, "label": slot_label(context)}
    version = await slot_changed(
        session,
        context=context,
        occupant=hold,
        change="hold.created",
        audit=AuditEntry(actor=ANONYMOUS, action="hold.created", payload=payload),
        now=now,
        only_published=True,
    )
    if version is None:
        raise Conflict(
            f"{context.title} is no longer published; it takes no bookings.",
            code="event_not_published",
        )
    return Hold(
        hold_id=hold_id,
        slot_id=slot_id,
        event_id=context.event_id,
        hold_token=token,
        expires_at=expires_at,
    )


async def hold_cancel(
    session: AsyncSession, *, hold_id: int, hold_token: str, now: datetime | None = None
) -> None:
    """Give a hold up (the modal's Cancel); a hold that already ended is left as it is."""
    now = now or utcnow()
    booking = await session.get(Booking, hold_id)
    if booking is None:
        raise NotFound(f"Hold {hold_id} does not exist.", code="hold_not_found")
    if not manage_token_matches(hold_token, booking.manage_token_hash):
        raise Forbidden("This hold token does not belong to that hold.", code="bad_hold_token")
    if booking.status != BookingStatus.HELD:
        return
    connection = await session.connection()
    context = await repository.slot_context(connection, booking.slot_id)
    assert context is not None
    occupant = Occupant.of(context._mapping)
    if occupant is None or occupant.id != hold_id:
        return
    payload = {"hold_id": hold_id, "slot_id": context.id, "label": slot_label(context)}
    await occupant_cancelled(
        session, context=context, occupant=occupant, change="hold.cancelled", actor=ANONYMOUS,
        payload=payload, now=now,
    )  # fmt: skip
