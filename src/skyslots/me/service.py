"""The signed-in person's own bookings, and their personal calendar feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

# The module, not its names: calendars.build is still loading when the web pages import this.
from skyslots.calendars import build as calendar_build
from skyslots.db import utcnow
from skyslots.errors import NotFound
from skyslots.me import feed
from skyslots.me.schemas import MyBooking
from skyslots.models import Booking, BookingStatus, Event, Slot, User
from skyslots.slots.service import slot_label

# A person's bookings as the page lists them: occupying ones and past claims (not holds).
LISTED = (
    BookingStatus.CLAIMED,
    BookingStatus.UNCONFIRMED,
    BookingStatus.OFFERED,
    BookingStatus.RELEASED,
)
ACTIVE = (BookingStatus.CLAIMED, BookingStatus.UNCONFIRMED, BookingStatus.OFFERED)
MY_BOOKINGS_PATH = "/me/bookings"


async def _bookings_of(
    session: AsyncSession, user: User, statuses: tuple[BookingStatus, ...]
) -> list[tuple[Booking, Slot, Event]]:
    rows = await session.execute(
        select(Booking, Slot, Event)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Event, Event.id == Booking.event_id)
        .where(Booking.user_id == user.id, Booking.status.in_([s.value for s in statuses]))
        .order_by(Booking.id)
    )
    return [(booking, slot, event) for booking, slot, event in rows]


async def my_bookings(
    session: AsyncSession, *, user: User, now: datetime | None = None
) -> list[MyBooking]:
    """The bookings made signed in as `user`: upcoming ones first (soonest first), then the
    rest (released or over, newest first)."""
    now = now or utcnow()
    listed = []
    for booking, slot, event in await _bookings_of(session, user, LISTED):
        starts_at, ends_at = calendar_build.slot_span(slot, event)
        assert booking.id is not None and slot.id is not None and event.id is not None
        listed.append(
            MyBooking(
                id=booking.id,
                status=BookingStatus(booking.status),
                event_id=event.id,
                event_title=event.title,
                event_status=event.status,
                slot_id=slot.id,
                label=slot_label(slot),
                position_name=slot.position_name,
                position_type=slot.position_type,
                starts_at=starts_at,
                ends_at=ends_at,
                pilot_callsign=booking.pilot_callsign,
                pilot_name=booking.pilot_name,
                claimed_at=booking.claimed_at,
                released_at=booking.released_at,
                upcoming=booking.status in ACTIVE and ends_at > now,
            )
        )
    upcoming = sorted((b for b in listed if b.upcoming), key=lambda b: (b.starts_at, b.id))
    rest = sorted((b for b in listed if not b.upcoming), key=lambda b: (b.starts_at, b.id))
    return upcoming + rest[::-1]


async def calendar_feed_rotate(session: AsyncSession, *, user: User) -> int:
    """Turn the feed on, or give it a new address (the old one stops working): the new serial."""
    fresh = await session.get(User, user.id, with_for_update=True)
    assert fresh is not None
    fresh.calendar_feed_serial = feed.new_serial(fresh.calendar_feed_serial)
    await session.flush()
    return fresh.calendar_feed_serial


async def calendar_feed_off(session: AsyncSession, *, user: User) -> None:
    """Turn the feed off: its address answers 404 from now on."""
    fresh = await session.get(User, user.id, with_for_update=True)
    assert fresh is not None
    fresh.calendar_feed_serial = None
    await session.flush()


async def feed_owner(session: AsyncSession, *, token: str, secret: str) -> User:
    """The user whose current feed `token` is; 404 for an old, wrong or turned-off one."""
    parts = feed.token_user_id(token)
    user = await session.get(User, parts[0]) if parts else None
    if (
        parts is None
        or user is None
        or not feed.signature_matches(
            parts[1], user_id=parts[0], serial=user.calendar_feed_serial, secret=secret
        )
    ):
        raise NotFound("No calendar feed at this address.", code="feed_not_found")
    return user


async def feed_calendar(
    session: AsyncSession, *, token: str, secret: str, public_url: str
) -> bytes:
    """The feed's file: one entry per claimed booking of its owner."""
    user = await feed_owner(session, token=token, secret=secret)
    booked = [
        calendar_build.BookedSlot(
            booking_id=booking.id,  # type: ignore[arg-type]
            label=slot_label(slot),
            callsign=booking.pilot_callsign or "",
            slot=slot,
            event=event,
            stamp=booking.claimed_at,
        )
        for booking, slot, event in await _bookings_of(session, user, (BookingStatus.CLAIMED,))
    ]
    return calendar_build.personal_calendar(
        booked,
        name="SkySlots: my bookings",
        public_url=public_url,
        page_url=f"{public_url}{MY_BOOKINGS_PATH}",
    )
