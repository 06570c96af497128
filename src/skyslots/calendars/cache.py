"""The event calendar in storage, under a key carrying the roster version: made on the first
request for a version (or by the warming job after a change), then served from storage."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from skyslots.calendars.service import calendar_event, event_calendar_now
from skyslots.db import Database
from skyslots.errors import NotFound
from skyslots.storage.base import Storage
from skyslots.storage.keys import event_calendar_key

log = logging.getLogger(__name__)
CALENDAR_TYPE = "text/calendar; charset=utf-8"


def calendar_etag(event_id: int, version: int) -> str:
    return f'"event-{event_id}-v{version}"'


async def stored_event_calendar(
    db: Database, storage: Storage, *, event_id: int, version: int, public_url: str
) -> tuple[int, str]:
    """The (version, key) of the stored calendar, made now if this version has none.

    The version may have moved on since the caller read it: what is made is the current one.
    """
    key = event_calendar_key(event_id, version)
    if await storage.exists(key):
        return version, key
    current, body = await db.read(event_calendar_now, event_id=event_id, public_url=public_url)
    key = event_calendar_key(event_id, current)
    await storage.put(key, body, content_type=CALENDAR_TYPE)
    return current, key


async def warm_event_calendars(
    db: Database, storage: Storage, *, event_ids: Iterable[int], public_url: str
) -> int:
    """After roster changes: store these events' current calendars; returns how many there are."""
    warmed = 0
    for event_id in sorted(set(event_ids)):
        try:
            event = await db.read(calendar_event, event_id=event_id)
        except NotFound:  # a draft or deleted: no public calendar
            continue
        await stored_event_calendar(
            db, storage, event_id=event_id, version=event.version, public_url=public_url
        )
        warmed += 1
    if warmed:
        log.info("calendars: %d events' calendars stored", warmed)
    return warmed
