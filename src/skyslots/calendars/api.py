"""GET /api/events/{id}/calendar.ics (stored per roster version, ETag) and
GET /api/bookings/{id}/calendar.ics?token= (the booker's own slot)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from skyslots.accounts.deps import DatabaseDep, SettingsDep
from skyslots.calendars.cache import CALENDAR_TYPE, calendar_etag, stored_event_calendar
from skyslots.calendars.service import (
    booking_calendar_for_token,
    calendar_event,
    event_calendar_now,
)
from skyslots.storage.base import StorageUnavailable
from skyslots.storage.deps import StorageDep
from skyslots.storage.disposition import content_disposition
from skyslots.storage.download import download_response
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["calendars"])
NO_CACHE = "no-cache"  # clients may keep it, and ask again with If-None-Match


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


@router.get(
    "/events/{event_id}/calendar.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "the calendar (`inline=1`)"},
        304: {"description": "the client's copy (If-None-Match) is current"},
        307: {"description": "the stored calendar file"},
    },
)
async def event_calendar_ics(
    event_id: RowId,
    db: DatabaseDep,
    storage: StorageDep,
    settings: SettingsDep,
    inline: bool = False,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The event and its staffed ATC blocks as iCalendar: a 307 to the stored file, or the file
    itself with `?inline=1` (for calendar subscriptions). Published and cancelled events only."""
    event = await db.read(calendar_event, event_id=event_id)
    etag = calendar_etag(event_id, event.version)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": NO_CACHE})
    try:
        version, key = await stored_event_calendar(
            db, storage, event_id=event_id, version=event.version, public_url=settings.public_url
        )
    except StorageUnavailable:  # storage is down: the calendar still comes, made afresh
        version, body = await db.read(
            event_calendar_now, event_id=event_id, public_url=settings.public_url
        )
        headers = {"ETag": calendar_etag(event_id, version), "Cache-Control": NO_CACHE}
        return Response(body, media_type=CALENDAR_TYPE, headers=headers)
    return await download_response(
        storage,
        key,
        filename=f"event-{event_id}.ics",
        content_type=CALENDAR_TYPE,
        inline=inline,
        headers={"ETag": calendar_etag(event_id, version), "Cache-Control": NO_CACHE},
        known_present=True,
    )


@router.get(
    "/bookings/{booking_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "the booking's slot"}},
)
async def booking_calendar_ics(
    booking_id: RowId,
    token: Annotated[str, Query(min_length=1, max_length=200)],
    db: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """The booker's own slot as iCalendar (with a reminder alarm); `token` is the manage token
    or the mailed link's (404 for no such booking, 403 for a wrong token)."""
    body = await db.read(
        booking_calendar_for_token,
        booking_id=booking_id,
        token=token,
        public_url=settings.public_url,
    )
    disposition = content_disposition(f"booking-{booking_id}.ics")
    return Response(
        body,
        media_type=CALENDAR_TYPE,
        headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"},
    )
