"""GET /api/me/bookings, the personal calendar feed: POST/DELETE /api/me/calendar and
GET /api/me/calendar/{token}.ics."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from skyslots.accounts.deps import CurrentUser, DatabaseDep, SettingsDep
from skyslots.calendars.api import NO_CACHE, etag_matches
from skyslots.calendars.cache import CALENDAR_TYPE
from skyslots.me.feed import feed_urls
from skyslots.me.schemas import CalendarFeed, MyBooking
from skyslots.me.service import calendar_feed_off, calendar_feed_rotate, feed_calendar, my_bookings

router = APIRouter(prefix="/api", tags=["my bookings"])


@router.get("/me/bookings")
async def list_my_bookings(db: DatabaseDep, user: CurrentUser) -> list[MyBooking]:
    """Your bookings made signed in: upcoming first, then released or past ones."""
    return await db.read(my_bookings, user=user)


@router.post("/me/calendar")
async def create_calendar_feed(
    db: DatabaseDep, user: CurrentUser, settings: SettingsDep
) -> CalendarFeed:
    """Turn your calendar feed on, or give it a new address (the old one stops working)."""
    serial = await db.transaction(calendar_feed_rotate, user=user)
    assert user.id is not None
    return feed_urls(
        public_url=settings.public_url, secret=settings.secret_key, user_id=user.id, serial=serial
    )


@router.delete("/me/calendar", status_code=204)
async def delete_calendar_feed(db: DatabaseDep, user: CurrentUser) -> Response:
    """Turn your calendar feed off: its address answers 404."""
    await db.transaction(calendar_feed_off, user=user)
    return Response(status_code=204)


@router.get("/me/calendar/{token}.ics", response_class=Response)
async def calendar_feed(
    token: Annotated[str, Path(max_length=64)],
    db: DatabaseDep,
    settings: SettingsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """Your claimed bookings as iCalendar, at the secret address from POST /api/me/calendar
    (no sign-in: calendar apps cannot); 404 for an old or wrong address."""
    body = await db.read(
        feed_calendar, token=token, secret=settings.secret_key, public_url=settings.public_url
    )
    etag = f'"feed-{hashlib.sha256(body).hexdigest()[:24]}"'
    headers = {"ETag": etag, "Cache-Control": NO_CACHE}
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=CALENDAR_TYPE, headers=headers)
