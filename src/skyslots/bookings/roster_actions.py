"""Organizer roster actions on bookings: move one to another slot, release them all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.occupancy import free_or_refuse
from skyslots.bookings.release import release_notices
from skyslots.bookings.rules import Occupant
from skyslots.constraints import violated_constraint
from skyslots.db import utcnow
from skyslots.errors import Conflict, NotFound, ValidationFailed
from skyslots.events.service import ensure_can_manage, event_managed
from skyslots.models import Booking, BookingStatus, User
from skyslots.models.booking import SLOT_OCCUPIED
from skyslots.roster import AuditEntry, roster_changed
from skyslots.slots.service import slot_label
from skyslots.waitlist.promotion import promote_waiter
from skyslots.webhooks.changes import booking_fields, booking_webhook, slot_of


async def booking_move(
    session: AsyncSession, *, booking_id: int, slot_id: int, user: User, now: datetime | None = None
) -> Booking:
    """Move a claimed booking to a free slot of the same event; the old slot's waitlist moves up."""
    now = now or utcnow()
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.status not in (BookingStatus.CLAIMED, BookingStatus.RELEASED):
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    connection = await session.connection()
    # Both slots are read FOR SHARE, the lower id first, so two moves cannot deadlock.
    contexts = {}
    for sid in sorted({booking.slot_id, slot_id}):
        contexts[sid] = await repository.slot_context(connection, sid)
    source, target = contexts[booking.slot_id], contexts[slot_id]
    assert source is not None
    await ensure_can_manage(
        session, event_id=source.event_id, organizer_id=source.organizer_id, user=user
    )
    if target is None or target.event_id != source.event_id:
        raise ValidationFailed("slot_id", f"slot {slot_id} is not a slot of this event")
    if booking.status != BookingStatus.CLAIMED:
        raise Conflict(
            "This booking is released; there is nothing to move.", code="already_released"
        )
    if slot_id == booking.slot_id:
        return booking
    occupant = Occupant.of(target._mapping)
    if occupant is not None:
        await free_or_refuse(session, context=target, occupant=occupant, now=now)
    try:
        await connection.execute(
            update(repository.bookings)
            .where(
                repository.bookings.c.id == booking_id,
                repository.bookings.c.status == BookingStatus.CLAIMED.value,
            )
            .values(slot_id=slot_id)
        )
    except IntegrityError as error:
        if violated_constraint(error) != SLOT_OCCUPIED:
            raise
        raise Conflict(f"{slot_label(target)} was just taken.", code="slot_taken") from None
    left = Occupant.of(source._mapping)
    assert left is not None and left.id == booking_id
    # The old slot is free now: its waitlist moves up (the booking itself is not ended).
    await promote_waiter(session, context=source, now=now)
    await booking_webhook(
        session,
        context=target,
        type="booking.moved",
        booking=booking_fields(
            id=booking_id, callsign=booking.pilot_callsign, name=booking.pilot_name,
            status=BookingStatus.CLAIMED.value, claimed_at=booking.claimed_at,
        ),
        email=booking.email,
        extra={"from_slot": slot_of(source)},
        now=now,
    )  # fmt: skip
    payload = {
        "booking_id": booking_id,
        "from_slot_id": source.id,
        "to_slot_id": slot_id,
        "from": slot_label(source),
        "to": slot_label(target),
        "callsign": booking.pilot_callsign,
    }
    await roster_changed(
        session,
        event_id=source.event_id,
        change="booking.moved",
        data={"slot_ids": [source.id, slot_id]},
        audit=AuditEntry(actor=Actor.of_user(user), action="booking.moved", payload=payload),
    )
    await session.refresh(booking)
    return booking


RELEASED_COLUMNS = (
    "id", "slot_id", "event_id", "pilot_callsign", "pilot_name", "email", "claimed_at",
)  # fmt: skip


async def bookings_release_all(
    session: AsyncSession, *, event_id: int, confirm: str, user: User, now: datetime | None = None
) -> int:
    """Release every claimed booking of the event (no waitlist promotion); returns how many."""
    now = now or utcnow()
    event = await event_managed(session, event_id=event_id, user=user)
    if confirm != event.title:
        raise ValidationFailed("confirm", "type the event's title exactly to confirm")
    connection = await session.connection()
    rows = await connection.execute(
        update(repository.bookings)
        .where(
            repository.bookings.c.event_id == event_id,
            repository.bookings.c.status == BookingStatus.CLAIMED.value,
        )
        .values(status=BookingStatus.RELEASED.value, released_at=now)
        .returning(*(repository.bookings.c[name] for name in RELEASED_COLUMNS))
    )
    released = sorted(rows, key=lambda row: row.slot_id)
    for booking in released:  # each booker's mail and the webhooks, as for one release
        context = await repository.slot_context(connection, booking.slot_id)
        assert context is not None  # the booking's key keeps its slot
        await release_notices(session, context=context, booking=booking, by="organizer", now=now)
    slot_ids = [row.slot_id for row in released]
    if slot_ids:
        await roster_changed(
            session,
            event_id=event_id,
            change="bookings.released_all",
            data={"slot_ids": slot_ids},
            audit=AuditEntry(
                actor=Actor.of_user(user),
                action="bookings.released_all",
                payload={"released": len(slot_ids), "slot_ids": slot_ids},
            ),
        )
    return len(slot_ids)
