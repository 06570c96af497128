"""Waitlists: join, look, leave (or decline an offer), accept an offer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import token_opens
from skyslots.accounts.security import new_manage_token
from skyslots.audit.service import Actor, audit_record
from skyslots.bookings import repository
from skyslots.bookings.occupancy import (
    KeptConflict,
    occupant_cancelled,
    occupant_ended,
    slot_changed,
)
from skyslots.bookings.rules import Occupant, booking_refusal
from skyslots.bookings.seats import first_free_seat
from skyslots.bookings.service import Claim, claim_refusal
from skyslots.constraints import violated_constraint
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from skyslots.events.service import event_managed, event_visible
from skyslots.models import (
    Booking,
    BookingStatus,
    Slot,
    User,
    WaitlistEntry,
    WaitlistMode,
    WaitlistStatus,
)
from skyslots.models.booking import OCCUPYING
from skyslots.models.waitlist import ENTRY_TARGET
from skyslots.ratings import ensure_may_take, rating_refusal, required_rating
from skyslots.roster import AuditEntry
from skyslots.slots.service import slot_label
from skyslots.waitlist.schemas import WaitlistJoin, WaitlistJoined, WaitlistView
from skyslots.webhooks.changes import booking_fields, booking_webhook


def _same_target(entry: WaitlistEntry) -> Any:
    column = WaitlistEntry.slot_id
    slot = column.is_(None) if entry.slot_id is None else column == entry.slot_id
    kind = WaitlistEntry.position_type
    of_type = kind.is_(None) if entry.position_type is None else kind == entry.position_type
    return and_(WaitlistEntry.event_id == entry.event_id, slot, of_type)


async def waitlist_position(session: AsyncSession, entry: WaitlistEntry) -> int | None:
    """1 for the first in line for the entry's target; None unless it is waiting."""
    if entry.status != WaitlistStatus.WAITING:
        return None
    ahead = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            _same_target(entry),
            WaitlistEntry.status == WaitlistStatus.WAITING,
            (WaitlistEntry.created_at < entry.created_at)
            | ((WaitlistEntry.created_at == entry.created_at) & (WaitlistEntry.id < entry.id)),
        )
    )
    return int(ahead or 0) + 1


async def _free_slot_matching(
    session: AsyncSession, *, event_id: int, data: WaitlistJoin, now: datetime
) -> Slot | None:
    """A slot the entry would wait for that could be booked now: unlocked, nobody holding it (or
    their hold ran out). A locked slot may be waited for: it may be unlocked."""
    occupant = repository.bookings.alias("taken")
    statement = (
        select(Slot)
        .outerjoin(
            occupant,
            (occupant.c.slot_id == Slot.id)
            & occupant.c.status.in_([s.value for s in OCCUPYING])
            & ((occupant.c.status == BookingStatus.CLAIMED) | (occupant.c.expires_at > now)),
        )
        .where(Slot.event_id == event_id, occupant.c.id.is_(None), Slot.is_locked.is_(False))
        .limit(1)
    )
    if data.slot_id is not None:
        statement = statement.where(Slot.id == data.slot_id)
    elif data.position_type is not None:
        statement = statement.where(Slot.position_type == data.position_type)
    return (await session.execute(statement)).scalar_one_or_none()


async def waitlist_join(
    session: AsyncSession,
    *,
    event_id: int,
    data: WaitlistJoin,
    user: User | None = None,
    now: datetime | None = None,
) -> WaitlistJoined:
    """Join the waitlist for a slot, a position type or the whole event; a signed-in waiter's
    entry keeps their account (rated slots pass only to waiters rated for them)."""
    now = now or utcnow()
    event = await event_visible(session, event_id=event_id, viewer=None)
    refusal = booking_refusal(event, now)
    if refusal is not None:
        raise refusal
    if event.waitlist_mode == WaitlistMode.OFF:
        raise Conflict(f"{event.title} has no waitlist.", code="waitlist_off")
    required = None
    if data.slot_id is not None:
        slot = await session.get(Slot, data.slot_id)
        if slot is None or slot.event_id != event_id:
            raise NotFound(f"Slot {data.slot_id} is not in this event.", code="slot_not_found")
        required = required_rating(
            min_rating=slot.min_rating,
            position_type=slot.position_type,
            apply_defaults=event.apply_rating_defaults,
        )
    rules = rating_refusal(
        position=slot.position_name if data.slot_id is not None else event.title,
        required=required,
        requires_login=event.booking_requires_login,
        title=event.title,
        user=user,
    )
    if rules is not None:
        raise rules
    name = data.pilot_name or (user.name if user is not None else None)
    if not name:
        raise ValidationFailed("pilot_name", "a name is required (or sign in to wait as yourself)")
    free = await _free_slot_matching(session, event_id=event_id, data=data, now=now)
    if free is not None:
        raise Conflict(f"{slot_label(free)} is free: book it instead.", code="slot_free")
    claims = await session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.event_id == event_id,
            Booking.status == BookingStatus.CLAIMED,
            func.lower(Booking.pilot_callsign) == data.pilot_callsign.lower(),
        )
    )
    if (claims or 0) >= event.max_slots_per_person:
        raise Conflict(
            f"{data.pilot_callsign} already holds a booking in this event.", code="already_booked"
        )
    token, token_hash = new_manage_token()
    entry = WaitlistEntry(
        event_id=event_id,
        slot_id=data.slot_id,
        position_type=data.position_type.value if data.position_type else None,
        user_id=user.id if user is not None else None,
        pilot_name=name,
        pilot_callsign=data.pilot_callsign,
        email=data.email.lower() if data.email else None,
        manage_token_hash=token_hash,
        created_at=now,
    )
    session.add(entry)
    try:
        await session.flush()
    except IntegrityError as error:
        if violated_constraint(error) != ENTRY_TARGET:
            raise
        raise Conflict(
            f"{data.pilot_callsign} is already on this waitlist.", code="already_waiting"
        ) from None
    audit_record(
        session,
        actor=Actor.booker(data.pilot_callsign),
        action="waitlist.joined",
        event_id=event_id,
        payload={
            "entry_id": entry.id,
            "slot_id": data.slot_id,
            "position_type": entry.position_type,
        },
    )
    position = await waitlist_position(session, entry)
    return WaitlistJoined(
        id=entry.id, status=WaitlistStatus.WAITING, position=position or 1, manage_token=token
    )


async def _entry_for_token(session: AsyncSession, entry_id: int, token: str) -> WaitlistEntry:
    entry = await session.get(WaitlistEntry, entry_id)
    if entry is None:
        raise NotFound(f"Waitlist entry {entry_id} does not exist.", code="waitlist_not_found")
    if not token_opens(
        session, token, stored_hash=entry.manage_token_hash, purpose="waitlist", row_id=entry_id
    ):
        raise Forbidden("This manage token does not belong to that entry.", code="bad_token")
    return entry


async def waitlist_view(session: AsyncSession, *, entry_id: int, manage_token: str) -> WaitlistView:
    """The entry's state, its place in line and any offer's deadline."""
    entry = await _entry_for_token(session, entry_id, manage_token)
    expires_at = None
    if entry.status == WaitlistStatus.OFFERED and entry.booking_id is not None:
        expires_at = await session.scalar(
            select(Booking.expires_at).where(Booking.id == entry.booking_id)
        )
    return WaitlistView(
        id=entry.id,
        event_id=entry.event_id,
        slot_id=entry.slot_id,
        position_type=entry.position_type,
        pilot_callsign=entry.pilot_callsign,
        status=WaitlistStatus(entry.status),
        position=await waitlist_position(session, entry),
        offer_expires_at=expires_at,
        booking_id=entry.booking_id,
    )


async def _offer_context(session: AsyncSession, entry: WaitlistEntry) -> tuple[Any, Occupant]:
    """The slot context of the entry's offer, and the offer as the slot's occupant."""
    booking = await session.get(Booking, entry.booking_id)
    assert booking is not None
    context = await repository.slot_context(await session.connection(), booking.slot_id)
    occupant = Occupant.of(context._mapping) if context is not None else None
    if context is None or occupant is None or occupant.id != booking.id:
        raise Conflict("This offer is no longer open.", code="offer_expired")
    return context, occupant


async def waitlist_leave(
    session: AsyncSession, *, entry_id: int, manage_token: str, now: datetime | None = None
) -> None:
    """Leave the line, or decline an offer (the slot passes to the next person)."""
    now = now or utcnow()
    entry = await _entry_for_token(session, entry_id, manage_token)
    if entry.status == WaitlistStatus.PROMOTED:
        raise Conflict(
            "This entry became a booking; release the booking instead.", code="already_promoted"
        )
    await entry_leave(session, entry=entry, actor=Actor.booker(entry.pilot_callsign), now=now)


async def entry_leave(
    session: AsyncSession, *, entry: WaitlistEntry, actor: Actor, now: datetime
) -> None:
    """`entry` leaves the line (authorized by the caller); an open offer is declined and passes
    to the next person. Nothing happens to an entry no longer waiting or offered."""
    if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        return
    offered = entry.status == WaitlistStatus.OFFERED
    entry.status, entry.updated_at = WaitlistStatus.LEFT.value, now
    await session.flush()
    if not offered:
        audit_record(
            session,
            actor=actor,
            action="waitlist.left",
            event_id=entry.event_id,
            payload={"entry_id": entry.id},
        )
        return
    context, occupant = await _offer_context(session, entry)
    payload = {"entry_id": entry.id, "booking_id": occupant.id, "label": slot_label(context)}
    await occupant_cancelled(
        session, context=context, occupant=occupant, change="offer.declined", actor=actor,
        payload=payload, now=now,
    )  # fmt: skip


async def waitlist_accept(
    session: AsyncSession, *, entry_id: int, manage_token: str, now: datetime | None = None
) -> Claim:
    """Accept an offer: the held slot becomes the person's claimed booking."""
    now = now or utcnow()
    entry = await _entry_for_token(session, entry_id, manage_token)
    if entry.status != WaitlistStatus.OFFERED:
        raise Conflict("There is no open offer for this entry.", code="no_offer")
    context, occupant = await _offer_context(session, entry)
    if not occupant.is_due(now):
        await _ensure_waiter_admitted(session, context=context, entry=entry)
    if occupant.is_due(now):
        ended, promoted = await occupant_ended(
            session, context=context, occupant=occupant, status=BookingStatus.EXPIRED, now=now
        )
        if ended:
            await slot_changed(
                session,
                context=context,
                occupant=promoted,
                change="offer.expired",
                audit=None,
                now=now,
            )
        raise KeptConflict(
            "This offer ran out; it passed to the next person.", code="offer_expired"
        )
    connection = await session.connection()
    values = await first_free_seat(
        connection,
        event_id=context.event_id,
        callsign=entry.pilot_callsign,
        email=entry.email,
        limit=context.max_slots_per_person,
    )
    values |= {"status": BookingStatus.CLAIMED.value, "claimed_at": now, "expires_at": None}
    try:
        await repository.convert_occupant(
            connection, occupant_id=occupant.id, from_status=BookingStatus.OFFERED, values=values
        )
    except IntegrityError as error:
        raise await claim_refusal(
            session, error, context=context, callsign=entry.pilot_callsign
        ) from None
    entry.status, entry.updated_at = WaitlistStatus.PROMOTED.value, now
    await session.flush()
    claim = Occupant(
        id=occupant.id,
        status=BookingStatus.CLAIMED,
        callsign=entry.pilot_callsign,
        name=entry.pilot_name,
        claimed_at=now,
        expires_at=None,
    )
    await booking_webhook(
        session,
        context=context,
        type="waitlist.promoted",
        booking=booking_fields(
            id=occupant.id, callsign=entry.pilot_callsign, name=entry.pilot_name,
            status=BookingStatus.CLAIMED.value, claimed_at=now,
        ),
        email=entry.email,
        extra={"waitlist_entry_id": entry.id, "via": "offer"},
        now=now,
    )  # fmt: skip
    payload = {
        "entry_id": entry.id,
        "booking_id": occupant.id,
        "slot_id": context.id,
        "label": slot_label(context),
        "callsign": entry.pilot_callsign,
    }
    await slot_changed(
        session,
        context=context,
        occupant=claim,
        change="offer.accepted",
        audit=AuditEntry(
            actor=Actor.booker(entry.pilot_callsign), action="offer.accepted", payload=payload
        ),
        now=now,
    )
    return Claim(
        id=occupant.id,
        slot_id=context.id,
        event_id=context.event_id,
        status=BookingStatus.CLAIMED.value,
        pilot_callsign=entry.pilot_callsign,
        pilot_name=entry.pilot_name,
        claimed_at=now,
        manage_token=manage_token,
    )


async def _ensure_waiter_admitted(
    session: AsyncSession, *, context: Any, entry: WaitlistEntry
) -> None:
    """The offer went to an admitted waiter; the slot's rules (or the account's rating) may have
    changed since. Only for slots with rules: one read of the waiter's account."""
    if not (
        context.booking_requires_login
        or context.min_rating is not None
        or context.apply_rating_defaults
    ):
        return
    user = await session.get(User, entry.user_id) if entry.user_id is not None else None
    ensure_may_take(context, user)


async def waitlist_of_event(
    session: AsyncSession, *, event_id: int, user: User
) -> list[WaitlistEntry]:
    """The event's waitlist entries, in line order, for its organizer."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.event_id == event_id)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    return list(rows)
