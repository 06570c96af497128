"""Deleting personal data: a signed-in person's account and everything about them, or one
booking's by its manage token. Bookings are kept (the roster's history) as "Deleted user"."""

from __future__ import annotations

import contextlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import LINK_SECRET
from skyslots.audit.service import Actor
from skyslots.bookings import repository
from skyslots.bookings.manage import booking_for_token
from skyslots.bookings.occupancy import occupant_cancelled
from skyslots.bookings.release import release_claim
from skyslots.bookings.rules import Occupant
from skyslots.db import utcnow
from skyslots.errors import Conflict
from skyslots.exports.withdraw import exports_withdraw
from skyslots.models import Booking, BookingStatus, Event, User, WaitlistEntry
from skyslots.models.booking import OCCUPYING
from skyslots.privacy.export import bookings_of, entries_of
from skyslots.privacy.scrub import outbox_high_water, scrub_traces
from skyslots.privacy.traces import DELETED_NAME, Traces
from skyslots.slots.service import slot_label
from skyslots.waitlist.service import entry_leave

_users = User.__table__  # type: ignore[attr-defined]


async def _free_slot(
    session: AsyncSession, *, booking: Booking, status: str, actor: Actor, now: datetime
) -> None:
    """Give the slot of an occupying booking back, unless its event has ended: the roster hears
    of it and the waitlist moves up, as for any release. The booking is anonymised already, so
    no mail goes to the address it had."""
    context = await repository.slot_context(await session.connection(), booking.slot_id)
    assert context is not None  # the booking's key keeps its slot
    occupant = Occupant.of(context._mapping)
    if context.end_datetime <= now or occupant is None or occupant.id != booking.id:
        return
    if status == BookingStatus.CLAIMED:
        await release_claim(
            session, context=context, booking=booking, actor=actor, released_by="booker", now=now
        )
        return
    payload = {"booking_id": booking.id, "slot_id": context.id, "label": slot_label(context)}
    await occupant_cancelled(
        session, context=context, occupant=occupant, change="booking.cancelled", actor=actor,
        payload=payload, now=now,
    )  # fmt: skip


async def forget_booking(
    session: AsyncSession, *, booking: Booking, traces: Traces, actor: Actor, now: datetime
) -> None:
    """Anonymise `booking` (kept: "Deleted user", no email, no notes, no user), then give its
    slot back if it still occupies one."""
    traces.add(email=booking.email, name=booking.pilot_name, event_id=booking.event_id)
    traces.booking_ids.add(booking.id)  # type: ignore[arg-type]
    traces.slot_ids.add(booking.slot_id)
    status = booking.status
    booking.pilot_name, booking.email, booking.notes, booking.user_id = DELETED_NAME, None, "", None
    await session.flush()
    if status in OCCUPYING:
        await _free_slot(session, booking=booking, status=status, actor=actor, now=now)


async def forget_entry(
    session: AsyncSession, *, entry: WaitlistEntry, traces: Traces, actor: Actor, now: datetime
) -> None:
    """Take `entry` out of the line (an open offer passes on) and anonymise it."""
    traces.add(email=entry.email, name=entry.pilot_name, event_id=entry.event_id)
    traces.entry_ids.add(entry.id)  # type: ignore[arg-type]
    if entry.booking_id is not None:
        traces.booking_ids.add(entry.booking_id)
    if entry.slot_id is not None:
        traces.slot_ids.add(entry.slot_id)
    with contextlib.suppress(Conflict):  # its offer already ended: nothing to give back
        await entry_leave(session, entry=entry, actor=actor, now=now)
    entry.pilot_name, entry.email, entry.user_id = DELETED_NAME, None, None
    await session.flush()


async def me_delete(session: AsyncSession, *, user: User, now: datetime | None = None) -> None:
    """Delete the signed-in person's account and personal data; 409 `owns_events` while they
    organize events (nothing changes then)."""
    now = now or utcnow()
    owned = list(await session.scalars(select(Event.title).where(Event.organizer_id == user.id)))
    if owned:
        names = ", ".join(owned[:3]) + (f" and {len(owned) - 3} more" if len(owned) > 3 else "")
        raise Conflict(
            f"You organize {len(owned)} event(s) ({names}). Delete them or hand them over to "
            "another organizer first; your account can be deleted then.",
            code="owns_events",
        )
    assert user.id is not None
    up_to_id = await outbox_high_water(await session.connection())
    traces = Traces()
    traces.add(email=user.email, name=user.name)
    actor = Actor(label=Actor.deleted_label(user.id))
    # The line first: a slot freed below must not be offered to the person being deleted.
    for entry in list(await session.scalars(select(WaitlistEntry).where(entries_of(user)))):
        await forget_entry(session, entry=entry, traces=traces, actor=actor, now=now)
    for booking in list(await session.scalars(select(Booking).where(bookings_of(user)))):
        await forget_booking(session, booking=booking, traces=traces, actor=actor, now=now)
    connection = await session.connection()
    secret_key = session.info[LINK_SECRET]
    await scrub_traces(
        connection, traces, up_to_id=up_to_id, secret_key=secret_key, user_id=user.id
    )
    await exports_withdraw(session, event_ids=traces.event_ids, now=now)
    await connection.execute(delete(_users).where(_users.c.id == user.id))


async def booking_personal_data_delete(
    session: AsyncSession, *, booking_id: int, manage_token: str, now: datetime | None = None
) -> None:
    """The booker (manage token) anonymises their booking, giving the slot back if it holds
    one; 404, or 403 for another token."""
    now = now or utcnow()
    managed = await booking_for_token(session, booking_id=booking_id, manage_token=manage_token)
    booking = managed.booking
    up_to_id = await outbox_high_water(await session.connection())
    traces = Traces()
    actor = Actor.booker(booking.pilot_callsign or "")
    # A booking that came from the waitlist shares its entry's token, name and email.
    entries = await session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.booking_id == booking_id)
    )
    for entry in list(entries):
        await forget_entry(session, entry=entry, traces=traces, actor=actor, now=now)
    await forget_booking(session, booking=booking, traces=traces, actor=actor, now=now)
    secret_key = session.info[LINK_SECRET]
    await scrub_traces(await session.connection(), traces, up_to_id=up_to_id, secret_key=secret_key)
    await exports_withdraw(session, event_ids=traces.event_ids, now=now)
