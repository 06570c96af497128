"""The data exports: a signed-in person's, and one booking's by its manage token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.bookings.manage import booking_for_token
from skyslots.db import utcnow
from skyslots.models import (
    ApiToken,
    AuditLog,
    Booking,
    Event,
    Slot,
    User,
    WaitlistEntry,
    WebhookEndpoint,
)
from skyslots.privacy.schemas import (
    AccountExport,
    ApiTokenExport,
    AuditExport,
    BookingData,
    BookingExport,
    EventRef,
    MyData,
    OwnedEvent,
    SlotRef,
    StoredBooking,
    WaitlistEntryExport,
    WebhookExport,
)

ACCOUNT_FIELDS = ("id", "name", "email", "role", "vatsim_id", "rating_id", "rating_short")


def bookings_of(user: User) -> Any:
    """The bookings that are the person's: made signed in, or with their account's email."""
    return or_(Booking.user_id == user.id, func.lower(Booking.email) == user.email.lower())


def entries_of(user: User) -> Any:
    """The waitlist entries that are the person's: joined signed in, or with their email."""
    return or_(
        WaitlistEntry.user_id == user.id, func.lower(WaitlistEntry.email) == user.email.lower()
    )


async def my_data(session: AsyncSession, *, user: User, now: datetime | None = None) -> MyData:
    """Everything stored about `user`: account, bookings, waitlist entries, audit rows as actor,
    the events they own, those events' webhook endpoints (URLs only) and their API tokens
    (names and use, never the tokens)."""
    rows = await session.execute(
        select(Booking, Slot, Event)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Event, Event.id == Booking.event_id)
        .where(bookings_of(user))
        .order_by(Booking.claimed_at, Booking.id)
    )
    bookings = [
        BookingExport.model_validate(
            {
                **StoredBooking.model_validate(booking).model_dump(),
                "slot": SlotRef.model_validate(slot),
                "event": EventRef.model_validate(event),
            }
        )
        for booking, slot, event in rows
    ]
    entries = await session.scalars(
        select(WaitlistEntry).where(entries_of(user)).order_by(WaitlistEntry.id)
    )
    audit = await session.scalars(
        select(AuditLog).where(AuditLog.user_id == user.id).order_by(AuditLog.id)
    )
    events = list(
        await session.scalars(select(Event).where(Event.organizer_id == user.id).order_by(Event.id))
    )
    endpoints = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.event_id.in_([e.id for e in events]))
        .order_by(WebhookEndpoint.id)
    )
    tokens = await session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    )
    account = AccountExport.model_validate(
        {
            **{k: getattr(user, k) for k in ACCOUNT_FIELDS},
            "created_at": user.created_at,
            "has_password": user.password_hash is not None,
            "calendar_feed": user.calendar_feed_serial is not None,
        }
    )
    return MyData(
        exported_at=now or utcnow(),
        user=account,
        bookings=bookings,
        waitlist_entries=[WaitlistEntryExport.model_validate(e) for e in entries],
        audit=[AuditExport.model_validate(a) for a in audit],
        events=[OwnedEvent.model_validate(e) for e in events],
        webhook_endpoints=[WebhookExport.model_validate(w) for w in endpoints],
        api_tokens=[ApiTokenExport.model_validate(t) for t in tokens],
    )


async def booking_data(
    session: AsyncSession, *, booking_id: int, manage_token: str, now: datetime | None = None
) -> BookingData:
    """One booking as stored, with its slot and event: 404, or 403 for another token."""
    managed = await booking_for_token(session, booking_id=booking_id, manage_token=manage_token)
    return BookingData(
        exported_at=now or utcnow(),
        booking=StoredBooking.model_validate(managed.booking),
        slot=SlotRef.model_validate(managed.slot),
        event=EventRef.model_validate(managed.event),
    )
