"""The roster image follows the roster: after a change, a new one is made, at most once per
SKYSLOTS_ROSTER_IMAGE_SECONDS per event (a booking rush costs one image per period, not one per
claim). The newest one is the event page's og:image and the Discord summary's picture."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.exports.service import export_queue
from skyslots.models import Event, EventStatus, Export
from skyslots.models.export import ExportFormat, ExportStatus

RECENT_EVENTS = timedelta(days=1)  # images of events that ended longer ago no longer change
BATCH = 20

_events = Event.__table__  # type: ignore[attr-defined]
_exports = Export.__table__  # type: ignore[attr-defined]


async def roster_images_due(
    session: AsyncSession, *, debounce_seconds: float, now: datetime
) -> list[int]:
    """Queue a roster image for each published event whose newest image shows an older roster
    version and that had none queued within the debounce period; returns the new exports' ids."""
    image = and_(_exports.c.event_id == _events.c.id, _exports.c.format == ExportFormat.PNG.value)
    recent_or_active = or_(
        _exports.c.created_at > now - timedelta(seconds=debounce_seconds),
        _exports.c.status.in_([ExportStatus.QUEUED.value, ExportStatus.RUNNING.value]),
    )
    current = and_(
        _exports.c.status == ExportStatus.DONE.value,
        _exports.c.roster_version == _events.c.version,
    )
    event_ids = await session.scalars(
        select(_events.c.id)
        .where(
            _events.c.status == EventStatus.PUBLISHED.value,
            _events.c.end_datetime > now - RECENT_EVENTS,
            ~exists().where(image, recent_or_active),
            ~exists().where(image, current),
        )
        .order_by(_events.c.id)
        .limit(BATCH)
    )
    queued = []
    for event_id in list(event_ids):
        export = await export_queue(
            session, event_id=event_id, format=ExportFormat.PNG, requested_by=None, now=now
        )
        queued.append(export.id or 0)
    return queued
