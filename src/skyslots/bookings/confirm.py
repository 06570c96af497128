"""Email confirmation: a `pending` booking becomes a claim when its mail's link is followed in
time; otherwise the sweep ends it like a hold and the slot passes to its waitlist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import booking_token_opens
from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.occupancy import slot_changed
from skyslots.bookings.rules import Occupant
from skyslots.bookings.service import claim_refusal
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound
from skyslots.models import Booking, BookingStatus
from skyslots.outbox.service import outbox_add
from skyslots.roster import AuditEntry
from skyslots.slots.service import slot_label
from skyslots.webhooks.changes import booking_fields, booking_webhook


async def booking_confirm(
    session: AsyncSession, *, booking_id: int, token: str, now: datetime | None = None
) -> Booking:
    """Confirm a pending booking with its mail's token (or its manage token); 409 if too late."""
    now = now or utcnow()
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    if not booking_token_opens(session, token, booking):
        raise Forbidden("This link does not belong to that booking.", code="bad_token")
    if booking.status == BookingStatus.CLAIMED:
        return booking  # the link followed twice
    connection = await session.connection()
    context = await repository.slot_context(connection, booking.slot_id)
    assert context is not None  # the booking's key keeps its slot
    occupant = Occupant.of(context._mapping)
    waiting = occupant is not None and occupant.id == booking_id
    if not waiting or occupant.status != BookingStatus.UNCONFIRMED or occupant.is_due(now):
        raise Conflict(
            f"This booking of {slot_label(context)} was not confirmed in time and is released.",
            code="confirmation_expired",
        )
    values = {"status": BookingStatus.CLAIMED.value, "expires_at": None}
    try:
        await repository.convert_occupant(
            connection, occupant_id=booking_id, from_status=BookingStatus.UNCONFIRMED,
            values=values,
        )  # fmt: skip
    except IntegrityError as error:  # the callsign or the email took its limit meanwhile
        raise await claim_refusal(
            session, error, context=context, callsign=booking.pilot_callsign or ""
        ) from None
    claim = Occupant(
        id=booking_id,
        status=BookingStatus.CLAIMED,
        callsign=booking.pilot_callsign,
        name=booking.pilot_name,
        claimed_at=booking.claimed_at,
        expires_at=None,
    )
    if booking.email:
        await outbox_add(
            session,
            kind="booking.confirmed",
            target=booking.email,
            payload={"booking_id": booking_id},
            dedupe_key=f"booking.confirmed:{booking_id}",
            event_id=booking.event_id,
        )
    await booking_webhook(
        session,
        context=context,
        type="booking.claimed",
        booking=booking_fields(
            id=booking_id, callsign=booking.pilot_callsign, name=booking.pilot_name or "",
            status=BookingStatus.CLAIMED.value, claimed_at=booking.claimed_at,
        ),
        email=booking.email,
        extra={"assigned": False},
        now=now,
    )  # fmt: skip
    payload = {"booking_id": booking_id, "slot_id": context.id, "label": slot_label(context),
               "callsign": booking.pilot_callsign}  # fmt: skip
    await slot_changed(
        session,
        context=context,
        occupant=claim,
        change="booking.claimed",
        audit=AuditEntry(
            actor=Actor.booker(booking.pilot_callsign or ""), action="booking.confirmed",
            payload=payload,
        ),
        now=now,
    )  # fmt: skip
    await session.refresh(booking)
    return booking
