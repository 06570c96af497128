"""Releasing a booking: by its booker's manage token or by the event's organizer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.security import manage_token_matches
from skyslots.audit.service import Actor
from skyslots.bookings.statements import bookings_table as _bookings
from skyslots.bookings.statements import events_table as _events
from skyslots.bookings.statements import insert_audit_row
from skyslots.bookings.statements import slots_table as _slots
from skyslots.db import UTCDateTime, utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, Unauthorized
from skyslots.events.service import can_manage
from skyslots.models import Booking, BookingStatus, User
from skyslots.realtime.messages import encode, slot_message, slot_values_json
from skyslots.roster import bump_and_log_after, roster_record, roster_written
from skyslots.slots.schemas import SlotOut
from skyslots.slots.service import slot_label

# A release's context in one Core statement: the booking, its slot's SlotOut columns (for the
# realtime message, see _CLAIM_CONTEXT for FOR SHARE) and the event's organizer.
_RELEASE_CONTEXT = (
    select(
        *(_slots.c[key] for key in SlotOut.model_fields),
        _bookings.c.status.label("booking_status"),
        _bookings.c.user_id,
        _bookings.c.pilot_callsign,
        _bookings.c.pilot_name,
        _bookings.c.claimed_at,
        _bookings.c.email,
        _bookings.c.notes.label("booking_notes"),
        _bookings.c.manage_token_hash,
        _events.c.organizer_id,
    )
    .join_from(_bookings, _slots, _slots.c.id == _bookings.c.slot_id)
    .join(_events, _events.c.id == _slots.c.event_id)
    .where(_bookings.c.id == bindparam("booking_id"))
    .with_for_update(read=True, of=_slots)
)

_RELEASE_BOOKING = (
    "UPDATE bookings SET status = 'released', released_at = :released_at"
    " WHERE id = :booking_id AND status = 'claimed'"
)

# PostgreSQL: the whole release in one statement; nothing is written if it was released already.
_RELEASE = text(
    f"""
    WITH released AS ({_RELEASE_BOOKING} RETURNING id),
    audit AS (
        INSERT INTO audit_logs (event_id, user_id, actor, action_type, payload, created_at)
        SELECT :event_id, :user_id, :actor, 'booking.released', CAST(:payload AS json),
               :released_at
        FROM released
    ),
    {bump_and_log_after("released")}
    SELECT bumped.version FROM released, bumped
    """
).bindparams(bindparam("released_at", type_=UTCDateTime()))

_RELEASE_ONLY = text(_RELEASE_BOOKING).bindparams(bindparam("released_at", type_=UTCDateTime()))


async def booking_release(
    session: AsyncSession, *, booking_id: int, manage_token: str | None, user: User | None
) -> Booking:
    """Release a booking: its booker (manage token) or the event's organizer may; 409 if done."""
    connection = await session.connection()
    context = (await connection.execute(_RELEASE_CONTEXT, {"booking_id": booking_id})).one_or_none()
    if context is None:
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    if manage_token is not None:
        if not manage_token_matches(manage_token, context.manage_token_hash):
            raise Forbidden("This manage token does not belong to that booking.", code="bad_token")
        actor = Actor.booker(context.pilot_callsign)
    elif user is not None:
        if not can_manage(context, user):
            raise Forbidden(
                "Only the booker or the event's organizer can release it.", code="not_organizer"
            )
        actor = Actor.of_user(user)
    else:
        raise Unauthorized("Send the booking's X-Manage-Token, or sign in as its organizer.")

    now, slot_id, event_id = utcnow(), context.id, context.event_id
    already = Conflict(
        f"This booking of {slot_label(context)} is already released.", code="already_released"
    )
    # After the release the slot is free: no other claim can commit before this one does.
    slot = slot_values_json({**context._mapping, "booking_id": None})
    message = slot_message(event_id=event_id, change="booking.released", slot=slot)
    payload = {
        "booking_id": booking_id,
        "slot_id": slot_id,
        "label": slot_label(context),
        "callsign": context.pilot_callsign,
    }
    params: dict[str, Any] = {"booking_id": booking_id, "released_at": now}
    if connection.dialect.name == "postgresql":
        params |= {
            "event_id": event_id,
            "user_id": actor.user_id,
            "actor": actor.label,
            "payload": encode(payload),
            "message": encode(message),
        }
        version = (await connection.execute(_RELEASE, params)).scalar_one_or_none()
        if version is None:
            raise already
        await roster_written(session, event_id=event_id, message=message, version=version)
    else:  # SQLite: no data-modifying CTEs; its writers are serialized by BEGIN IMMEDIATE
        if (await connection.execute(_RELEASE_ONLY, params)).rowcount == 0:
            raise already
        await insert_audit_row(
            connection,
            actor=actor,
            action="booking.released",
            event_id=event_id,
            payload=payload,
            created_at=now,
        )
        await roster_record(session, event_id=event_id, message=message)
    return Booking(
        id=booking_id,
        slot_id=slot_id,
        event_id=event_id,
        user_id=context.user_id,
        pilot_name=context.pilot_name,
        pilot_callsign=context.pilot_callsign,
        email=context.email,
        status=BookingStatus.RELEASED.value,
        claimed_at=context.claimed_at,
        released_at=now,
        notes=context.booking_notes,
        manage_token_hash=context.manage_token_hash,
    )
