"""Promotion: a freed slot goes to the first eligible person waiting for it, in the same unit of
work that freed it, so nobody else can claim it in between."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import SYSTEM, audit_record
from skyslots.bookings import repository
from skyslots.bookings.rules import Occupant, booking_refusal
from skyslots.bookings.seats import first_free_seat
from skyslots.errors import Conflict
from skyslots.features.service import feature_on
from skyslots.metrics import promotion_after_commit
from skyslots.models import BookingStatus, User, WaitlistEntry, WaitlistMode, WaitlistStatus
from skyslots.outbox.service import outbox_add
from skyslots.ratings import slot_requirement
from skyslots.slots.service import slot_label
from skyslots.webhooks.changes import booking_fields, booking_webhook

entries = WaitlistEntry.__table__  # type: ignore[attr-defined]
users = User.__table__  # type: ignore[attr-defined]
bookings = repository.bookings

# A waiter may be promoted while their callsign (and email) hold fewer claims than the limit.
_claims_of_callsign = (
    select(func.count())
    .where(
        bookings.c.event_id == entries.c.event_id,
        bookings.c.status == BookingStatus.CLAIMED.value,
        func.lower(bookings.c.pilot_callsign) == func.lower(entries.c.pilot_callsign),
    )
    .scalar_subquery()
)
_claims_of_email = (
    select(func.count())
    .where(
        bookings.c.event_id == entries.c.event_id,
        bookings.c.status == BookingStatus.CLAIMED.value,
        func.lower(bookings.c.email) == func.lower(entries.c.email),
    )
    .scalar_subquery()
)


def _admitted(context: Row[Any]) -> list[Any]:
    """The conditions a waiter must meet for the slot's rating rules (none for most events): a
    rated slot passes only to a waiter signed in with at least that rating, a login-only event's
    slot only to a signed-in waiter; anonymous waiters are passed over for it."""
    required = slot_requirement(context._mapping)
    if required is not None:
        rated = select(users.c.id).where(users.c.rating_id >= required)
        return [entries.c.user_id.in_(rated.scalar_subquery())]
    if context.booking_requires_login:
        return [entries.c.user_id.is_not(None)]
    return []


def _candidates(
    *,
    event_id: int,
    slot_id: int,
    position_type: str,
    limit: int,
    skipped: list[int],
    admitted: list[Any],
) -> Any:
    """Waiting entries whose target matches the slot, earliest first, locked until commit."""
    return (
        select(entries)
        .where(
            entries.c.id.not_in(skipped),
            entries.c.event_id == event_id,
            entries.c.status == WaitlistStatus.WAITING.value,
            or_(
                entries.c.slot_id == slot_id,
                and_(
                    entries.c.slot_id.is_(None),
                    or_(
                        entries.c.position_type == position_type, entries.c.position_type.is_(None)
                    ),
                ),
            ),
            _claims_of_callsign < limit,
            or_(entries.c.email.is_(None), _claims_of_email < limit),
            *admitted,
        )
        .order_by(entries.c.created_at, entries.c.id)
        .limit(1)
        .with_for_update(of=entries)
    )


async def promote_waiter(
    session: AsyncSession, *, context: Row[Any], now: datetime
) -> Occupant | None:
    """The slot in `context` (see bookings.repository.slot_context) is free in this unit of work:
    offer it to, or claim it for, the first eligible waiter. Returns the new occupant, or None.

    Nobody is promoted when the event has no waitlist, takes no bookings now, or the slot is locked.
    """
    mode = context.waitlist_mode
    if mode == WaitlistMode.OFF or context.is_locked or booking_refusal(context, now):
        return None
    if not await feature_on(session, "waitlist"):  # the flag off: nobody waits, nobody moves up
        return None
    connection = await session.connection()
    skipped: list[int] = []
    admitted = _admitted(context)
    for _ in range(5):  # a waiter who claimed elsewhere a moment ago lets the next one have it
        statement = _candidates(
            event_id=context.event_id,
            slot_id=context.id,
            position_type=context.position_type,
            limit=context.max_slots_per_person,
            skipped=skipped,
            admitted=admitted,
        )
        entry = (await connection.execute(statement)).one_or_none()
        if entry is None:
            return None
        try:
            async with session.begin_nested():
                return await _promote(session, context=context, entry=entry, mode=mode, now=now)
        except (IntegrityError, Conflict):
            skipped.append(entry.id)
    return None


async def _promote(
    session: AsyncSession, *, context: Row[Any], entry: Any, mode: str, now: datetime
) -> Occupant:
    connection = await session.connection()
    claim = mode == WaitlistMode.CLAIM
    status = BookingStatus.CLAIMED if claim else BookingStatus.OFFERED
    expires_at = None if claim else now + timedelta(seconds=context.offer_seconds)
    values: dict[str, Any] = {
        "slot_id": context.id,
        "event_id": context.event_id,
        "user_id": entry.user_id,
        "pilot_name": entry.pilot_name,
        "pilot_callsign": entry.pilot_callsign,
        "email": entry.email,
        "status": status.value,
        "claimed_at": now,
        "expires_at": expires_at,
        "notes": "",
        "manage_token_hash": entry.manage_token_hash,  # the waitlist token manages the booking
    }
    if claim:
        values |= await first_free_seat(
            connection,
            event_id=context.event_id,
            callsign=entry.pilot_callsign,
            email=entry.email,
            limit=context.max_slots_per_person,
        )
    booking_id = await repository.insert_booking(connection, values)
    entry_status = WaitlistStatus.PROMOTED if claim else WaitlistStatus.OFFERED
    await _set_entry(session, entry.id, entry_status, booking_id, now)
    kind = "waitlist.promoted" if claim else "waitlist.offered"
    label = slot_label(context)
    payload = {"entry_id": entry.id, "booking_id": booking_id, "slot_id": context.id}
    audit_record(
        session,
        actor=SYSTEM,
        action=kind,
        event_id=context.event_id,
        payload={**payload, "label": label, "callsign": entry.pilot_callsign},
    )
    if entry.email:
        await outbox_add(
            session,
            kind=kind,
            target=entry.email,
            event_id=context.event_id,
            payload={
                **payload,
                "label": label,
                "expires_at": expires_at and expires_at.isoformat(),
            },
            dedupe_key=f"{kind}:{entry.id}:{booking_id}",
        )
    promotion_after_commit(session)
    if claim:  # an offer becomes a promotion when accepted (waitlist.service.waitlist_accept)
        await booking_webhook(
            session,
            context=context,
            type="waitlist.promoted",
            booking=booking_fields(
                id=booking_id, callsign=entry.pilot_callsign, name=entry.pilot_name,
                status=status.value, claimed_at=now,
            ),
            email=entry.email,
            extra={"waitlist_entry_id": entry.id, "via": "waitlist"},
            now=now,
        )  # fmt: skip
    return Occupant(
        id=booking_id,
        status=status,
        callsign=entry.pilot_callsign,
        name=entry.pilot_name,
        claimed_at=now,
        expires_at=expires_at,
    )


async def _set_entry(
    session: AsyncSession,
    entry_id: int,
    status: WaitlistStatus,
    booking_id: int | None,
    now: datetime,
) -> None:
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if booking_id is not None:
        values["booking_id"] = booking_id
    connection = await session.connection()
    await connection.execute(update(entries).where(entries.c.id == entry_id).values(**values))


async def offer_ended(
    session: AsyncSession, *, booking_id: int, status: WaitlistStatus, now: datetime
) -> None:
    """The offer held in booking `booking_id` expired or was declined: its entry says so."""
    connection = await session.connection()
    await connection.execute(
        update(entries)
        .where(entries.c.booking_id == booking_id, entries.c.status == WaitlistStatus.OFFERED)
        .values(status=status.value, updated_at=now)
    )
