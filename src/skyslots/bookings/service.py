"""The booking core: claim a slot (directly, over one's own hold, or assigned by an organizer).

The partial unique indexes, not a prior check, guard every write; a refusal is identified by the
name of the index that refused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.security import hash_manage_token, manage_token_matches, new_manage_token
from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.occupancy import free_or_refuse, slot_changed
from skyslots.bookings.rules import Occupant, booking_callsign, ensure_bookable, occupied
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.seats import first_free_seat, limit_reached
from skyslots.constraints import violated_constraint
from skyslots.db import Retry, utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from skyslots.events.service import ensure_can_manage, event_managed
from skyslots.models import Booking, BookingStatus, EventStatus, User
from skyslots.models.booking import CALLSIGN_SEAT, EMAIL_SEAT, SLOT_OCCUPIED
from skyslots.outbox.service import OutboxRow
from skyslots.ratings import ensure_may_take
from skyslots.roster import AuditEntry
from skyslots.slots.service import slot_label
from skyslots.webhooks.changes import booking_fields, booking_webhook

__all__ = ["Claim", "booking_assign", "booking_claim", "bookings_of_event", "ensure_bookable"]


@dataclass(frozen=True)
class Claim:
    """A new booking's public fields and its manage token (shown once)."""

    id: int
    slot_id: int
    event_id: int
    status: str
    pilot_callsign: str
    pilot_name: str
    claimed_at: datetime
    manage_token: str


async def _own_hold(
    session: AsyncSession, *, context: Row[Any], occupant: Occupant | None, hold_token: str
) -> Occupant | None:
    """The hold `hold_token` converts: the slot's active hold if the token is its; None if it is
    the token of this slot's hold that already ended (a plain claim then). 403 otherwise."""
    if (
        occupant is not None
        and occupant.status == BookingStatus.HELD
        and occupant.token_hash is not None
        and manage_token_matches(hold_token, occupant.token_hash)
    ):
        return occupant
    earlier = await session.scalar(
        select(Booking.id).where(
            Booking.slot_id == context.id,
            Booking.manage_token_hash == hash_manage_token(hold_token),
        )
    )
    if earlier is None or (occupant is not None and occupant.id == earlier):
        raise Forbidden(
            "This hold token does not belong to a hold on that slot.", code="bad_hold_token"
        )
    return None


async def claim_refusal(
    session: AsyncSession,
    error: IntegrityError,
    *,
    context: Row[Any],
    callsign: str,
) -> Exception:
    """The 409 (or a retry) for a write a unique index refused; read after a rollback."""
    name = violated_constraint(error)
    if name not in (SLOT_OCCUPIED, CALLSIGN_SEAT, EMAIL_SEAT):
        return error
    await session.rollback()
    connection = await session.connection()
    limit = context.max_slots_per_person
    if name == SLOT_OCCUPIED:
        fresh = await repository.slot_context(connection, context.id)
        holder = Occupant.of(fresh._mapping) if fresh is not None else None
        if holder is None:
            return Conflict(f"{slot_label(context)} was just claimed.", code="slot_taken")
        return occupied(context, holder)
    if limit > 1:
        return Retry()  # another claim took the seat number read; the next try reads anew
    if name == EMAIL_SEAT:
        return limit_reached("This email", limit)
    other = await repository.claim_of_callsign(
        connection, event_id=context.event_id, callsign=callsign, other_than_slot=context.id
    )
    where = f" ({slot_label(other)})" if other is not None else ""
    return Conflict(
        f"{callsign} already holds a slot in this event{where}; one booking per callsign.",
        code="callsign_taken",
    )


async def booking_claim(
    session: AsyncSession,
    *,
    slot_id: int,
    data: BookingCreate,
    user: User | None = None,
    hold_token: str | None = None,
    assigned_by: User | None = None,
    now: datetime | None = None,
) -> Claim:
    """Claim a slot: a free one, or the one the booker holds (`hold_token`).

    `assigned_by` (an organizer) books for a named person regardless of window and lock.
    """
    now = now or utcnow()
    connection = await session.connection()
    context = await repository.slot_context(connection, slot_id)
    if context is None:
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    if assigned_by is None:
        ensure_bookable(context, context, now)
        ensure_may_take(context, user)  # organizers' assignments pass the rating rules
    else:
        await ensure_can_manage(
            session,
            event_id=context.event_id,
            organizer_id=context.organizer_id,
            user=assigned_by,
        )
    if assigned_by is not None and context.status == EventStatus.CANCELLED:
        raise Conflict(
            f"{context.title} was cancelled; it takes no bookings.", code="event_not_published"
        )
    callsign = booking_callsign(context.fixed_callsign, data.pilot_callsign)
    name = data.pilot_name or (user.name if user is not None and assigned_by is None else None)
    if not name:
        raise ValidationFailed("pilot_name", "a name is required (or sign in to book as yourself)")
    email = data.email.lower() if data.email else None
    # With email confirmation a booking waits for its mail's link (an organizer's does not).
    confirming = bool(context.require_email_confirmation) and assigned_by is None
    if confirming and not email:
        raise ValidationFailed(
            "email", "this event confirms bookings by email: give the address to confirm from"
        )
    status = BookingStatus.UNCONFIRMED if confirming else BookingStatus.CLAIMED
    expires_at = now + timedelta(seconds=context.confirm_seconds) if confirming else None
    occupant = Occupant.of(context._mapping)
    converting = None
    if hold_token is not None:
        converting = await _own_hold(
            session, context=context, occupant=occupant, hold_token=hold_token
        )
        if converting is not None and converting.is_due(now):
            converting = None
    if occupant is not None and converting is None:
        await free_or_refuse(session, context=context, occupant=occupant, now=now)
    token, token_hash = new_manage_token()
    values: dict[str, Any] = {
        "user_id": user.id if user else None,
        "pilot_name": name,
        "pilot_callsign": callsign,
        "email": email,
        "status": status.value,
        "claimed_at": now,
        "expires_at": expires_at,
        "notes": data.notes,
        "manage_token_hash": token_hash,
        **await first_free_seat(
            connection,
            event_id=context.event_id,
            callsign=callsign,
            email=email,
            limit=context.max_slots_per_person,
        ),
    }
    try:
        if converting is not None:
            values |= {"client_key": None, "client_seat": None}
            if not await repository.convert_occupant(
                connection, occupant_id=converting.id, from_status=BookingStatus.HELD, values=values
            ):
                raise Retry()  # the sweep expired it a moment ago: claim it as a free slot
            booking_id = converting.id
        else:
            booking_id = await repository.insert_booking(
                connection, {**values, "slot_id": slot_id, "event_id": context.event_id}
            )
    except IntegrityError as error:
        raise await claim_refusal(session, error, context=context, callsign=callsign) from None
    actor = Actor.of_user(assigned_by or user) if (assigned_by or user) else Actor.booker(callsign)
    claim = Occupant(
        id=booking_id,
        status=status,
        callsign=callsign,
        name=name,
        claimed_at=now,
        expires_at=expires_at,
    )
    kind = "booking.confirm" if confirming else "booking.confirmed"
    mail = [
        OutboxRow(kind, email, {"booking_id": booking_id}, f"{kind}:{booking_id}", context.event_id)
    ] if email else []  # fmt: skip
    if confirming:
        return await _journal_unconfirmed(
            session, context=context, claim=claim, token=token, now=now, mail=mail
        )
    await booking_webhook(
        session,
        context=context,
        type="booking.claimed",
        booking=booking_fields(
            id=booking_id, callsign=callsign, name=name,
            status=BookingStatus.CLAIMED.value, claimed_at=now,
        ),
        email=email,
        extra={"assigned": assigned_by is not None},
        now=now,
    )  # fmt: skip
    action = "booking.assigned" if assigned_by else "booking.claimed"
    payload = {
        "booking_id": booking_id,
        "slot_id": slot_id,
        "label": slot_label(context),
        "callsign": callsign,
    }
    version = await slot_changed(
        session,
        context=context,
        occupant=claim,
        change=action,
        audit=AuditEntry(actor=actor, action=action, payload=payload),
        now=now,
        only_published=assigned_by is None,
        outbox=mail,  # written by the journal's statement: one round trip fewer
    )
    if version is None:
        # The event was cancelled or unpublished while this claim queued for its row lock; what
        # was written goes with the rollback.
        raise Conflict(
            f"{context.title} is no longer published; it takes no bookings.",
            code="event_not_published",
        )
    return Claim(
        id=booking_id,
        slot_id=slot_id,
        event_id=context.event_id,
        status=BookingStatus.CLAIMED.value,
        pilot_callsign=callsign,
        pilot_name=name,
        claimed_at=now,
        manage_token=token,
    )


async def _journal_unconfirmed(
    session: AsyncSession,
    *,
    context: Row[Any],
    claim: Occupant,
    token: str,
    now: datetime,
    mail: list[OutboxRow],
) -> Claim:
    """A booking waiting for its confirmation: the slot shows as held until it expires."""
    payload = {"booking_id": claim.id, "slot_id": context.id, "label": slot_label(context),
               "callsign": claim.callsign}  # fmt: skip
    version = await slot_changed(
        session,
        context=context,
        occupant=claim,
        change="booking.pending",
        audit=AuditEntry(actor=Actor.booker(claim.callsign or ""), action="booking.pending",
                         payload=payload),
        now=now,
        only_published=True,
        outbox=mail,
    )  # fmt: skip
    if version is None:
        raise Conflict(
            f"{context.title} is no longer published; it takes no bookings.",
            code="event_not_published",
        )
    return Claim(
        id=claim.id,
        slot_id=context.id,
        event_id=context.event_id,
        status=BookingStatus.UNCONFIRMED.value,
        pilot_callsign=claim.callsign or "",
        pilot_name=claim.name or "",
        claimed_at=now,
        manage_token=token,
    )


async def booking_assign(
    session: AsyncSession,
    *,
    slot_id: int,
    data: BookingCreate,
    user: User,
    now: datetime | None = None,
) -> Claim:
    """An organizer books a slot for a named person: window and lock do not apply, limits do."""
    return await booking_claim(session, slot_id=slot_id, data=data, assigned_by=user, now=now)


async def bookings_of_event(session: AsyncSession, *, event_id: int, user: User) -> list[Booking]:
    """Every booking of an event, claimed and released, for its organizer."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.execute(
        select(Booking)
        .where(
            Booking.event_id == event_id,
            Booking.status.in_([BookingStatus.CLAIMED, BookingStatus.RELEASED]),
        )
        .order_by(Booking.claimed_at, Booking.id)
    )
    return list(rows.scalars())
