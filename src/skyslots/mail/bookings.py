"""A booker's mails: the booking confirmed (manage link, .ics of the slot), the booking released."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import booking_link_token
from skyslots.calendars.build import slot_span
from skyslots.calendars.service import booking_ics, manage_link
from skyslots.mail.compose import Attachment, Mail
from skyslots.mail.waitlist import zulu
from skyslots.models import Booking, BookingStatus, Event, Slot
from skyslots.outbox.relay import Leased
from skyslots.outbox.retry import DeliveryFailed, DeliverySkipped
from skyslots.slots.service import slot_label


async def booking_mail(session: AsyncSession, leased: Leased, *, public_url: str) -> Mail:
    booking = await session.get(Booking, leased.payload["booking_id"])
    if booking is None:
        raise DeliveryFailed("the booking no longer exists", permanent=True)
    slot = await session.get(Slot, booking.slot_id)
    event = await session.get(Event, booking.event_id)
    assert slot is not None and event is not None  # a booking goes with its slot and event
    label = slot_label(slot)
    start, end = slot_span(slot, event)
    context = {
        "name": booking.pilot_name or booking.pilot_callsign,
        "callsign": booking.pilot_callsign,
        "label": label,
        "event_title": event.title,
        "when": f"{zulu(start)} to {end:%H%M}z",
        "event_link": f"{public_url}/events/{event.id}",
    }
    if leased.kind == "booking.confirm":
        if booking.status != BookingStatus.UNCONFIRMED or booking.expires_at is None:
            raise DeliverySkipped("the booking is no longer waiting for its confirmation")
        token = booking_link_token(session, booking)
        subject = f"Confirm your booking: {label} at {event.title}"
        return Mail(
            "booking_confirm",
            subject,
            context
            | {
                "subject": subject,
                "link": f"{public_url}/bookings/{booking.id}/confirm?token={token}",
                "deadline": zulu(booking.expires_at),
            },
        )
    if leased.kind == "booking.reminder":
        if booking.status != BookingStatus.CLAIMED:
            raise DeliverySkipped("the booking was released")
        offset = int(leased.payload["offset_minutes"])
        before = f"{offset // 60} h" if offset % 60 == 0 else f"{offset} min"
        if offset % 1440 == 0:
            before = f"{offset // 1440} day" + ("s" if offset > 1440 else "")
        subject = f"Reminder: {label} at {event.title} starts in {before}"
        return Mail("booking_reminder", subject, context | {"subject": subject, "before": before})
    if leased.kind == "booking.released":
        subject = f"Released: {label} at {event.title}"
        return Mail("booking_released", subject, context | {"subject": subject})
    link = manage_link(session, booking, public_url)
    subject = f"Booked: {label} at {event.title}"
    # The same file as GET /api/bookings/{id}/calendar.ics (calendars.service).
    ics = booking_ics(session, booking=booking, slot=slot, event=event, public_url=public_url)
    return Mail(
        "booking_confirmed",
        subject,
        context | {"subject": subject, "link": link},
        attachments=(Attachment("booking.ics", "text/calendar", ics),),
    )
