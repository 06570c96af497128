"""Retention: SKYSLOTS_RETENTION_DAYS after an event ends, its bookings' emails and notes and its
waitlist entries' emails are purged, its outbox rows that carried them are scrubbed and its CSV
export files are withdrawn."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.exports.withdraw import exports_withdraw
from skyslots.models import Booking, Event, WaitlistEntry
from skyslots.models.export import ExportFormat
from skyslots.privacy.scrub import scrub_outbox
from skyslots.privacy.traces import Traces

EVENTS_PER_BATCH = 50
_bookings = Booking.__table__  # type: ignore[attr-defined]
_entries = WaitlistEntry.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]


def _keeping(cutoff: datetime) -> object:
    """Events that ended before `cutoff` and still hold an email or a note."""
    ended = select(_events.c.id).where(_events.c.end_datetime < cutoff)
    with_bookings = select(_bookings.c.event_id).where(
        _bookings.c.event_id.in_(ended),
        (_bookings.c.email.is_not(None)) | (_bookings.c.notes != ""),
    )
    with_entries = select(_entries.c.event_id).where(
        _entries.c.event_id.in_(ended), _entries.c.email.is_not(None)
    )
    return union(with_bookings, with_entries)


async def retention_purge(session: AsyncSession, *, days: int, now: datetime) -> int:
    """Purge one batch of events that ended more than `days` ago; how many events were purged
    (call again until 0)."""
    connection = await session.connection()
    kept = _keeping(now - timedelta(days=days)).subquery()  # type: ignore[attr-defined]
    event_ids = list(
        await connection.scalars(
            select(kept.c.event_id).order_by(kept.c.event_id).limit(EVENTS_PER_BATCH)
        )
    )
    if not event_ids:
        return 0
    traces = Traces(event_ids=set(event_ids))
    for table in (_bookings, _entries):
        emails = await connection.scalars(
            select(table.c.email).where(table.c.event_id.in_(event_ids), table.c.email.is_not(None))
        )
        traces.emails.update(email.lower() for email in emails)
    await connection.execute(
        update(_bookings)
        .where(_bookings.c.event_id.in_(event_ids))
        .where((_bookings.c.email.is_not(None)) | (_bookings.c.notes != ""))
        .values(email=None, notes="")
    )
    await connection.execute(
        update(_entries)
        .where(_entries.c.event_id.in_(event_ids), _entries.c.email.is_not(None))
        .values(email=None)
    )
    await scrub_outbox(connection, traces, by_target=True)
    # The spreadsheets carry the emails and notes (rosters and images show neither).
    await exports_withdraw(session, event_ids=event_ids, formats=[ExportFormat.CSV], now=now)
    return len(event_ids)
