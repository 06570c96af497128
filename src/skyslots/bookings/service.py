"""The booking core: claim and release, guarded by the database's partial unique indexes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from skyslots.accounts.security import new_manage_token
from skyslots.audit.service import Actor
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.statements import bookings_table as _bookings
from skyslots.bookings.statements import events_table as _events
from skyslots.bookings.statements import insert_audit_row
from skyslots.bookings.statements import slots_table as _slots
from skyslots.db import UTCDateTime, utcnow
from skyslots.errors import Conflict, NotFound
from skyslots.events.service import event_managed
from skyslots.models import Booking, BookingStatus, EventStatus, User
from skyslots.realtime.messages import encode, slot_message, slot_values_json
from skyslots.roster import bump_and_log_after, roster_record, roster_written
from skyslots.slots.schemas import SlotOut
from skyslots.slots.service import Labelled, slot_label


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


class BookingWindow(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def booking_opens_at(self) -> datetime | None: ...
    @property
    def booking_closes_at(self) -> datetime | None: ...
    @property
    def end_datetime(self) -> datetime: ...


class LockableSlot(Labelled, Protocol):
    @property
    def is_locked(self) -> bool: ...


def _zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H%Mz")


def ensure_bookable(event: BookingWindow, slot: LockableSlot, now: datetime) -> None:
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


# A claim's context in one Core statement: the slot's SlotOut columns (for the realtime message),
# the event's booking window, and who holds the slot (a refusal needs no more round trips).
# FOR SHARE OF slots (PostgreSQL; SQLite's writers are serialized anyway): no organizer can change
# or delete the slot until the claim commits, so the slot message built from these values is
# still current at commit.
_holder = _bookings.alias("holder")
_CLAIM_CONTEXT = (
    select(
        *(_slots.c[key] for key in SlotOut.model_fields),
        _events.c.title,
        _events.c.status,
        _events.c.booking_opens_at,
        _events.c.booking_closes_at,
        _events.c.end_datetime,
        _holder.c.pilot_callsign.label("holder"),
    )
    .join_from(_slots, _events, _events.c.id == _slots.c.event_id)
    .outerjoin(
        _holder,
        (_holder.c.slot_id == _slots.c.id) & (_holder.c.status == BookingStatus.CLAIMED.value),
    )
    .where(_slots.c.id == bindparam("slot_id"))
    .with_for_update(read=True, of=_slots)
)

# Who holds the slot or the callsign that made the unique indexes refuse a claim.
_HOLDERS = (
    select(
        _bookings.c.slot_id,
        _bookings.c.pilot_callsign,
        _slots.c.position_name,
        _slots.c.start_time,
        _slots.c.end_time,
    )
    .join_from(_bookings, _slots, _slots.c.id == _bookings.c.slot_id)
    .where(
        _bookings.c.status == BookingStatus.CLAIMED.value,
        (_bookings.c.slot_id == bindparam("slot_id"))
        | (
            (_bookings.c.event_id == bindparam("event_id"))
            & (func.lower(_bookings.c.pilot_callsign) == func.lower(bindparam("callsign")))
        ),
    )
)

_BOOKING_COLUMNS = (
    "slot_id, event_id, user_id, pilot_name, pilot_callsign, email, status, claimed_at, notes,"
    " manage_token_hash"
)
_BOOKING_VALUES = (
    ":slot_id, :event_id, :user_id, :pilot_name, :pilot_callsign, :email, 'claimed', :claimed_at,"
    " :notes, :manage_token_hash"
)

# PostgreSQL: the whole claim in one statement. The unique indexes refuse a second claim (then
# nothing else is written); the audit row, the version bump and the roster log are written only
# with the booking, the bump after the INSERT (the event's row lock is the last lock taken).
_CLAIM = text(
    f"""
    WITH booking AS (
        INSERT INTO bookings ({_BOOKING_COLUMNS}) VALUES ({_BOOKING_VALUES})
        ON CONFLICT DO NOTHING
        RETURNING id
    ),
    audit AS (
        INSERT INTO audit_logs (event_id, user_id, actor, action_type, payload, created_at)
        SELECT :event_id, :user_id, :actor, 'booking.claimed',
               jsonb_set(CAST(:payload AS jsonb), '{{booking_id}}', to_jsonb(booking.id))::json,
               :claimed_at
        FROM booking
    ),
    {bump_and_log_after("booking", stamp_id="{slot,booking,id}", only_if="status = 'published'")}
    SELECT booking.id, bumped.version FROM booking LEFT JOIN bumped ON TRUE
    """
).bindparams(
    bindparam("claimed_at", type_=UTCDateTime()),
)

_INSERT_BOOKING = text(
    f"INSERT INTO bookings ({_BOOKING_COLUMNS}) VALUES ({_BOOKING_VALUES})"
    " ON CONFLICT DO NOTHING RETURNING id"
).bindparams(bindparam("claimed_at", type_=UTCDateTime()))


async def _refusal(
    connection: AsyncConnection, *, slot_id: int, label: str, event_id: int, callsign: str
) -> Conflict:
    """The 409 for a claim the unique indexes refused, naming who holds the slot or callsign.

    Run in the claim's own transaction, in a new statement: under READ COMMITTED it sees the
    committed claim that won (ON CONFLICT DO NOTHING waited for it).
    """
    params = {"slot_id": slot_id, "event_id": event_id, "callsign": callsign}
    holders = (await connection.execute(_HOLDERS, params)).all()
    holder = next((h.pilot_callsign for h in holders if h.slot_id == slot_id), None)
    other = next((h for h in holders if h.slot_id != slot_id), None)
    if holder is None and other is not None:
        return Conflict(
            f"{callsign} already holds a slot in this event ({slot_label(other)});"
            " one booking per callsign.",
            code="callsign_taken",
        )
    return _slot_taken(label, holder)


def _slot_taken(label: str, holder: str | None) -> Conflict:
    by = f" by {holder}" if holder else ""
    return Conflict(f"{label} was just claimed{by}.", code="slot_taken")


async def booking_claim(
    session: AsyncSession, *, slot_id: int, data: BookingCreate, user: User | None = None
) -> Claim:
    """Claim a free slot; the partial unique indexes, not a prior check, guard every insert."""
    connection = await session.connection()
    context = (await connection.execute(_CLAIM_CONTEXT, {"slot_id": slot_id})).one_or_none()
    if context is None:
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    claimed_at = utcnow()
    ensure_bookable(context, context, claimed_at)
    label, event_id, callsign = slot_label(context), context.event_id, data.pilot_callsign
    if context.holder is not None:
        # Already claimed when read: refused at once. A free slot is no promise; the unique
        # indexes decide below.
        raise _slot_taken(label, context.holder)
    actor = Actor.of_user(user) if user else Actor.booker(callsign)
    token, token_hash = new_manage_token()
    params: dict[str, Any] = {
        "slot_id": slot_id,
        "event_id": event_id,
        "user_id": user.id if user else None,
        "pilot_name": data.pilot_name,
        "pilot_callsign": callsign,
        "email": data.email.lower() if data.email else None,
        "notes": data.notes,
        "manage_token_hash": token_hash,
        "claimed_at": claimed_at,
    }
    booked = {"pilot_callsign": callsign, "pilot_name": data.pilot_name}
    slot = slot_values_json(
        {**context._mapping, "booking_id": 0, "booking_status": "claimed", "claimed_at": claimed_at}
        | booked
    )
    message = slot_message(event_id=event_id, change="booking.claimed", slot=slot)
    payload = {"booking_id": 0, "slot_id": slot_id, "label": label, "callsign": callsign}
    try:
        if connection.dialect.name == "postgresql":
            params |= {"actor": actor.label, "payload": encode(payload), "message": encode(message)}
            row = (await connection.execute(_CLAIM, params)).one_or_none()
            booking_id, version = (row[0], row[1]) if row else (None, None)
        else:  # SQLite: no data-modifying CTEs; its writers are serialized by BEGIN IMMEDIATE
            booking_id = (await connection.execute(_INSERT_BOOKING, params)).scalar_one_or_none()
    except IntegrityError as error:
        if "foreign key" not in str(error.orig).lower():
            raise
        # The slot was deleted after it was read (its FOR SHARE lock makes that unlikely).
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found") from error
    if booking_id is None:
        raise await _refusal(
            connection, slot_id=slot_id, label=label, event_id=event_id, callsign=callsign
        )
    if connection.dialect.name == "postgresql" and version is None:
        # The event was cancelled or unpublished while this claim queued for its row lock; the
        # booking and audit rows written above go with the rollback.
        raise Conflict(
            f"{context.title} is no longer published; it takes no bookings.",
            code="event_not_published",
        )
    slot["booking"]["id"] = payload["booking_id"] = booking_id
    if connection.dialect.name == "postgresql":
        await roster_written(session, event_id=event_id, message=message, version=version)
    else:
        await insert_audit_row(
            connection,
            actor=actor,
            action="booking.claimed",
            event_id=event_id,
            payload=payload,
            created_at=claimed_at,
        )
        await roster_record(session, event_id=event_id, message=message)
    return Claim(
        id=booking_id,
        slot_id=slot_id,
        event_id=event_id,
        status=BookingStatus.CLAIMED.value,
        pilot_callsign=callsign,
        pilot_name=data.pilot_name,
        claimed_at=claimed_at,
        manage_token=token,
    )


async def bookings_of_event(session: AsyncSession, *, event_id: int, user: User) -> list[Booking]:
    """Every booking of an event, claimed and released, for its organizer."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.execute(
        select(Booking).where(Booking.event_id == event_id).order_by(Booking.claimed_at, Booking.id)
    )
    return list(rows.scalars())
