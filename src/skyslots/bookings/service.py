"""The booking core: claim and release, guarded by the database's partial unique indexes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from skyslots.accounts.security import manage_token_matches, new_manage_token
from skyslots.audit.service import Actor, audit_record
from skyslots.bookings.schemas import BookingCreate
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, SkySlotsError, Unauthorized
from skyslots.events.service import can_manage, event_managed
from skyslots.models import Booking, BookingStatus, Event, EventStatus, Slot, User
from skyslots.roster import roster_changed
from skyslots.slots.service import slot_label


@dataclass(frozen=True)
class Claim:
    booking: Booking
    manage_token: str


def _zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H%Mz")


def ensure_bookable(event: Event, slot: Slot, now: datetime) -> None:
    """Refuse a claim the event's state does not allow (409 with a reason)."""
    if event.status != EventStatus.PUBLISHED:
        state = "was cancelled" if event.status == EventStatus.CANCELLED else "is not published"
        raise Conflict(f"{event.title} {state}; it takes no bookings.", code="event_not_published")
    if event.booking_opens_at and now < event.booking_opens_at:
        raise Conflict(
            f"Booking for {event.title} opens at {_zulu(event.booking_opens_at)}.",
            code="booking_not_open",
        )
    closes_at = event.booking_closes_at or event.end_datetime
    if now >= closes_at:
        raise Conflict(
            f"Booking for {event.title} closed at {_zulu(closes_at)}.", code="booking_closed"
        )
    if slot.is_locked:
        raise Conflict(
            f"{slot_label(slot)} is locked by the organizers and cannot be booked.",
            code="slot_locked",
        )


async def _slot_and_event(session: AsyncSession, slot_id: int) -> tuple[Slot, Event]:
    row = (
        await session.execute(
            select(Slot, Event).join(Event, Event.id == Slot.event_id).where(Slot.id == slot_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    return row[0], row[1]


async def _conflict_for(
    session: AsyncSession,
    *,
    error: IntegrityError,
    slot_id: int,
    label: str,
    event_id: int,
    callsign: str,
) -> SkySlotsError:
    """Turn a unique-index violation into a 409 that says who holds what.

    The failed transaction is rolled back first (PostgreSQL refuses further statements in it).
    A foreign-key violation means the slot (or its event) was deleted after it was read: 404.
    """
    await session.rollback()
    reason = str(error.orig).lower()
    if "foreign key" in reason:
        return NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    if "callsign" in reason:
        held = await session.execute(
            select(Slot)
            .join(Booking, Booking.slot_id == Slot.id)
            .where(Booking.event_id == event_id, Booking.status == BookingStatus.CLAIMED)
            .where(Booking.pilot_callsign == callsign)
        )
        other = held.scalars().first()
        where = f" ({slot_label(other)})" if other else ""
        return Conflict(
            f"{callsign} already holds a slot in this event{where}; one booking per callsign.",
            code="callsign_taken",
        )
    holder = await session.scalar(
        select(Booking.pilot_callsign).where(
            Booking.slot_id == slot_id, Booking.status == BookingStatus.CLAIMED
        )
    )
    by = f" by {holder}" if holder else ""
    return Conflict(f"{label} was just claimed{by}.", code="slot_taken")


async def booking_claim(
    session: AsyncSession, *, slot_id: int, data: BookingCreate, user: User | None = None
) -> Claim:
    """Claim a free slot; the partial unique indexes, not a prior check, refuse a second claim."""
    slot, event = await _slot_and_event(session, slot_id)
    ensure_bookable(event, slot, utcnow())
    label, event_id = slot_label(slot), event.id
    token, token_hash = new_manage_token()
    booking = Booking(
        slot_id=slot.id,
        event_id=event.id,
        user_id=user.id if user else None,
        pilot_name=data.pilot_name,
        pilot_callsign=data.pilot_callsign,
        email=data.email.lower() if data.email else None,
        notes=data.notes,
        manage_token_hash=token_hash,
    )
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError as error:
        raise await _conflict_for(
            session,
            error=error,
            slot_id=slot_id,
            label=label,
            event_id=event_id,
            callsign=data.pilot_callsign,
        ) from error
    audit_record(
        session,
        actor=Actor.of_user(user) if user else Actor.booker(data.pilot_callsign),
        action="booking.claimed",
        event_id=event.id,
        payload={
            "booking_id": booking.id,
            "slot_id": slot.id,
            "label": slot_label(slot),
            "callsign": booking.pilot_callsign,
        },
    )
    # Everything else is written before roster_changed takes the event's row lock: claims of the
    # whole event queue on that lock, so it is held only for its own statements and the commit.
    await session.flush()
    await roster_changed(
        session, event_id=event.id, change="booking.claimed", data={"slot_id": slot.id}
    )
    return Claim(booking=booking, manage_token=token)


async def booking_release(
    session: AsyncSession, *, booking_id: int, manage_token: str | None, user: User | None
) -> Booking:
    """Release a booking: its booker (manage token) or the event's organizer may; 409 if done."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    slot, event = await _slot_and_event(session, booking.slot_id)
    if manage_token is not None:
        if not manage_token_matches(manage_token, booking.manage_token_hash):
            raise Forbidden("This manage token does not belong to that booking.", code="bad_token")
        actor = Actor.booker(booking.pilot_callsign)
    elif user is not None:
        if not can_manage(event, user):
            raise Forbidden(
                "Only the booker or the event's organizer can release it.", code="not_organizer"
            )
        actor = Actor.of_user(user)
    else:
        raise Unauthorized("Send the booking's X-Manage-Token, or sign in as its organizer.")

    now = utcnow()
    released = await session.execute(
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == BookingStatus.CLAIMED)
        .values(status=BookingStatus.RELEASED.value, released_at=now)
    )
    if released.rowcount == 0:
        raise Conflict(
            f"This booking of {slot_label(slot)} is already released.", code="already_released"
        )
    set_committed_value(booking, "status", BookingStatus.RELEASED.value)
    set_committed_value(booking, "released_at", now)
    audit_record(
        session,
        actor=actor,
        action="booking.released",
        event_id=event.id,
        payload={
            "booking_id": booking.id,
            "slot_id": slot.id,
            "label": slot_label(slot),
            "callsign": booking.pilot_callsign,
        },
    )
    await session.flush()  # the audit row, before the event's row lock (see booking_claim)
    await roster_changed(
        session, event_id=event.id, change="booking.released", data={"slot_id": slot.id}
    )
    return booking


async def bookings_of_event(session: AsyncSession, *, event_id: int, user: User) -> list[Booking]:
    """Every booking of an event, claimed and released, for its organizer."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.execute(
        select(Booking).where(Booking.event_id == event_id).order_by(Booking.claimed_at, Booking.id)
    )
    return list(rows.scalars())
