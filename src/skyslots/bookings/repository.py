"""The booking statements (SQLAlchemy Core): every engine runs the same ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.db import UTCDateTime
from skyslots.models import Booking, BookingStatus, Event, Slot, WebhookEndpoint
from skyslots.models.booking import PENDING
from skyslots.slots.repository import occupant, public_slots_select

bookings = Booking.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
slots = Slot.__table__  # type: ignore[attr-defined]
webhook_endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]

# A slot's context for any change of its occupant, in one statement: the public slot columns, its
# occupant's private ones and the event's rules. FOR SHARE OF slots (PostgreSQL; SQLite's writers
# are serialized anyway): no organizer can change or delete the slot until the unit of work ends,
# so a slot message built from these values is still current at commit. `has_webhooks` lets a
# change skip the webhook fan-out's query when the event has no enabled endpoint (nearly always).
EVENT_RULES = (
    events.c.title,
    events.c.status,
    events.c.booking_opens_at,
    events.c.booking_closes_at,
    events.c.end_datetime,
    events.c.organizer_id,
    events.c.hold_seconds,
    events.c.waitlist_mode,
    events.c.offer_seconds,
    events.c.max_slots_per_person,
    events.c.require_email_confirmation,
    events.c.confirm_seconds,
    events.c.booking_requires_login,
    events.c.apply_rating_defaults,
    events.c.start_datetime.label("event_start"),
    events.c.discord_webhook_url.is_not(None).label("has_discord"),
)
_SLOT_CONTEXT = (
    public_slots_select(
        *EVENT_RULES,
        slots.c.callsign.label("fixed_callsign"),
        occupant.c.manage_token_hash.label("occupant_token_hash"),
        exists()
        .where(
            webhook_endpoints.c.event_id == events.c.id, webhook_endpoints.c.disabled_at.is_(None)
        )
        .label("has_webhooks"),
    )
    .join(events, events.c.id == slots.c.event_id)
    .where(slots.c.id == bindparam("slot_id"))
    .with_for_update(read=True, of=slots)
)

_INSERT = insert(bookings).returning(bookings.c.id)
_CONVERT = (
    update(bookings)
    .where(bookings.c.id == bindparam("occupant_id"), bookings.c.status == bindparam("from_status"))
    .returning(bookings.c.id)
)
_EXPIRE = (
    update(bookings)
    .where(
        bookings.c.id == bindparam("occupant_id"),
        bookings.c.status.in_([s.value for s in PENDING]),
        bookings.c.expires_at <= bindparam("now", type_=UTCDateTime()),
    )
    .values(status=BookingStatus.EXPIRED.value, client_key=None)
)


async def slot_context(connection: AsyncConnection, slot_id: int) -> Row[Any] | None:
    return (await connection.execute(_SLOT_CONTEXT, {"slot_id": slot_id})).one_or_none()


async def insert_booking(connection: AsyncConnection, values: dict[str, Any]) -> int:
    """Insert a booking row (any status); the unique indexes refuse what a guard forbids."""
    return int((await connection.execute(_INSERT, values)).scalar_one())


async def convert_occupant(
    connection: AsyncConnection, *, occupant_id: int, from_status: BookingStatus, values: dict
) -> bool:
    """Turn a hold or an offer into a claim (same row, so the slot never looks free)."""
    statement = _CONVERT.values(**values)
    params = {"occupant_id": occupant_id, "from_status": from_status.value}
    return (await connection.execute(statement, params)).first() is not None


async def expire_pending(connection: AsyncConnection, *, occupant_id: int, now: datetime) -> bool:
    """Mark a hold or offer expired if it is due; False if someone else got there first."""
    result = await connection.execute(_EXPIRE, {"occupant_id": occupant_id, "now": now})
    return bool(result.rowcount)


async def end_occupant(
    connection: AsyncConnection,
    *,
    occupant_id: int,
    from_statuses: Sequence[BookingStatus],
    status: BookingStatus,
    now: datetime,
) -> bool:
    """Release a claim, cancel a hold or decline an offer; False if it already ended."""
    values: dict[str, Any] = {"status": status.value, "client_key": None}
    if status == BookingStatus.RELEASED:
        values["released_at"] = now
    result = await connection.execute(
        update(bookings)
        .where(
            bookings.c.id == occupant_id,
            bookings.c.status.in_([s.value for s in from_statuses]),
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def claimed_seats(
    connection: AsyncConnection, *, event_id: int, callsign: str, email: str | None
) -> tuple[set[int], set[int]]:
    """The seat numbers the callsign's and the email's claims in the event take."""
    condition = func.lower(bookings.c.pilot_callsign) == callsign.lower()
    if email:
        condition = condition | (func.lower(bookings.c.email) == email.lower())
    rows = await connection.execute(
        select(
            bookings.c.pilot_callsign,
            bookings.c.email,
            bookings.c.callsign_seat,
            bookings.c.email_seat,
        ).where(
            bookings.c.event_id == event_id,
            bookings.c.status == BookingStatus.CLAIMED.value,
            condition,
        )
    )
    by_callsign, by_email = set(), set()
    for row in rows:
        if row.pilot_callsign.lower() == callsign.lower():
            by_callsign.add(row.callsign_seat)
        if email and row.email and row.email.lower() == email.lower():
            by_email.add(row.email_seat)
    return by_callsign, by_email


async def claim_of_callsign(
    connection: AsyncConnection, *, event_id: int, callsign: str, other_than_slot: int
) -> Row[Any] | None:
    """A claim the callsign holds on another slot of the event (for a refusal's message)."""
    return (
        await connection.execute(
            select(slots.c.position_name, slots.c.start_time, slots.c.end_time)
            .join_from(bookings, slots, slots.c.id == bookings.c.slot_id)
            .where(
                bookings.c.event_id == event_id,
                bookings.c.status == BookingStatus.CLAIMED.value,
                func.lower(bookings.c.pilot_callsign) == callsign.lower(),
                bookings.c.slot_id != other_than_slot,
            )
            .limit(1)
        )
    ).first()


async def client_holds(
    connection: AsyncConnection, *, event_id: int, client_key: str
) -> list[Row[Any]]:
    """The holds a client address has in the event (active or not yet swept)."""
    rows = await connection.execute(
        select(
            bookings.c.id, bookings.c.slot_id, bookings.c.client_seat, bookings.c.expires_at
        ).where(
            bookings.c.event_id == event_id,
            bookings.c.client_key == client_key,
            bookings.c.status == BookingStatus.HELD.value,
        )
    )
    return list(rows)
