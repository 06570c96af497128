"""Which reminders are due, found from the database each time (never scheduled in a broker).

A booking's slot starts at its block's start, else its slot time, else the event's start; for
each of the event's offsets the reminder is due from `start - offset` until the next offset's
moment (or the start). A reminder
whose moment had passed when the booking was made is skipped; a released booking is no longer
claimed and gets none; a moved slot or event moves them, since the start is read anew.
Each (booking, offset) is written to the outbox once: its dedupe key is `reminder:<id>:<offset>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import utcnow
from skyslots.models import Booking, BookingStatus, Event, EventStatus, OutboxMessage, Slot
from skyslots.models.event import MAX_REMINDER_MINUTES
from skyslots.outbox.service import outbox_add

KIND = "booking.reminder"


def dedupe_key(booking_id: int, offset: int) -> str:
    return f"reminder:{booking_id}:{offset}"


def due_offset(
    offsets: list[int], *, start: datetime, claimed_at: datetime, now: datetime
) -> int | None:
    """The offset whose reminder is due now, if any. Each one's window lasts until the next
    (smaller) one's moment: nobody wants the one-day reminder an hour before the slot, with
    the one-hour one."""
    moments = sorted(offsets, reverse=True)
    for offset, following in zip(moments, [*moments[1:], 0], strict=True):
        opens, closes = start - timedelta(minutes=offset), start - timedelta(minutes=following)
        if opens <= now < closes:
            return offset if claimed_at <= opens else None
    return None


async def reminders_due(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Write the outbox rows of every reminder due now; returns how many."""
    now = now or utcnow()
    start = func.coalesce(Slot.start_time, Slot.slot_time, Event.start_datetime)
    rows = await session.execute(
        select(
            Booking.id,
            Booking.email,
            Booking.claimed_at,
            Booking.event_id,
            Event.reminder_offsets_minutes,
            start.label("start"),
        )
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Event, Event.id == Booking.event_id)
        .where(
            Booking.status == BookingStatus.CLAIMED,
            Booking.email.is_not(None),
            Event.status == EventStatus.PUBLISHED,
            Event.end_datetime > now,
            Event.start_datetime <= now + timedelta(minutes=MAX_REMINDER_MINUTES + 24 * 60),
        )
    )
    wanted: dict[str, tuple[int, int, str, int]] = {}
    for row in rows:
        offset = due_offset(
            list(row.reminder_offsets_minutes), start=row.start, claimed_at=row.claimed_at, now=now
        )
        if offset is not None:
            wanted[dedupe_key(row.id, offset)] = (row.id, offset, row.email, row.event_id)
    if not wanted:
        return 0
    written = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(wanted)))
        )
    )
    created = 0
    for key, (booking_id, offset, email, event_id) in wanted.items():
        if key in written:
            continue
        await outbox_add(
            session,
            kind=KIND,
            target=email,
            payload={"booking_id": booking_id, "offset_minutes": offset},
            dedupe_key=key,
            event_id=event_id,
        )
        created += 1
    return created
