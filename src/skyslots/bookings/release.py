"""Releasing a booking: by its booker's manage token or by the event's organizer. The freed slot
passes to its waitlist in the same unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import booking_token_opens
from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.occupancy import occupant_ended, slot_changed
from skyslots.bookings.rules import Occupant
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, Unauthorized
from skyslots.events.service import can_manage
from skyslots.models import Booking, BookingStatus, User
from skyslots.outbox.service import outbox_add
from skyslots.roster import AuditEntry
from skyslots.slots.service import slot_label
from skyslots.webhooks.changes import booking_fields, booking_webhook


async def release_notices(
    session: AsyncSession, *, context: Row[Any], booking: Any, by: str, now: datetime
) -> None:
    """What a release tells the outside: the booker's mail (if they gave an email) and the
    event's `booking.released` webhooks. Before the journal step, like every outbox row."""
    if booking.email:
        await outbox_add(
            session,
            kind="booking.released",
            target=booking.email,
            payload={"booking_id": booking.id},
            dedupe_key=f"booking.released:{booking.id}",
            event_id=booking.event_id,
        )
    await booking_webhook(
        session,
        context=context,
        type="booking.released",
        booking=booking_fields(
            id=booking.id, callsign=booking.pilot_callsign, name=booking.pilot_name,
            status=BookingStatus.RELEASED.value, claimed_at=booking.claimed_at,
        ),
        email=booking.email,
        extra={"released_by": by},
        now=now,
    )  # fmt: skip


async def booking_release(
    session: AsyncSession,
    *,
    booking_id: int,
    manage_token: str | None,
    user: User | None,
    promote: bool = True,
    now: datetime | None = None,
) -> Booking:
    """Release a booking: its booker (manage token, or signed in as the account that booked it)
    or the event's organizer may; 409 if done."""
    now = now or utcnow()
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.status not in (BookingStatus.CLAIMED, BookingStatus.RELEASED):
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    connection = await session.connection()
    context = await repository.slot_context(connection, booking.slot_id)
    assert context is not None  # the booking's foreign key keeps its slot
    if manage_token is not None:
        if not booking_token_opens(session, manage_token, booking):
            raise Forbidden("This manage token does not belong to that booking.", code="bad_token")
        actor = Actor.booker(booking.pilot_callsign or "")
    elif user is not None and booking.user_id is not None and booking.user_id == user.id:
        actor = Actor.of_user(user)  # a signed-in booker's own booking: no token needed
    elif user is not None:
        if not await can_manage(
            session, event_id=context.event_id, organizer_id=context.organizer_id, user=user
        ):
            raise Forbidden(
                "Only the booker or the event's organizer can release it.", code="not_organizer"
            )
        actor = Actor.of_user(user)
    else:
        raise Unauthorized(
            "Send the booking's X-Manage-Token, or sign in as its booker or organizer."
        )
    own = manage_token is not None or (user is not None and booking.user_id == user.id)
    released_by = "booker" if own else "organizer"
    await release_claim(
        session,
        context=context,
        booking=booking,
        actor=actor,
        released_by=released_by,
        promote=promote,
        now=now,
    )
    await session.refresh(booking)
    return booking


async def release_claim(
    session: AsyncSession,
    *,
    context: Row[Any],
    booking: Booking,
    actor: Actor,
    released_by: str,
    now: datetime,
    promote: bool = True,
) -> None:
    """Release `booking`, the claim occupying the slot of `context` (authorized by the caller):
    the waitlist moves up, the booker's mail and the webhooks are queued, the roster hears of it.
    409 `already_released` when it is not the slot's claim any more."""
    occupant = Occupant.of(context._mapping)
    released, promoted = occupant is not None and occupant.id == booking.id, None
    if released:
        released, promoted = await occupant_ended(
            session,
            context=context,
            occupant=occupant,  # type: ignore[arg-type]
            status=BookingStatus.RELEASED,
            now=now,
            promote=promote,
        )
    if not released:
        raise Conflict(
            f"This booking of {slot_label(context)} is already released.", code="already_released"
        )
    await release_notices(session, context=context, booking=booking, by=released_by, now=now)
    payload = {
        "booking_id": booking.id,
        "slot_id": context.id,
        "label": slot_label(context),
        "callsign": booking.pilot_callsign,
    }
    await slot_changed(
        session,
        context=context,
        occupant=promoted,
        change="booking.released",
        audit=AuditEntry(actor=actor, action="booking.released", payload=payload),
        now=now,
    )
