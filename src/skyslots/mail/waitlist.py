"""The waitlist's mails: an offer to accept before its deadline, a promotion into a booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.links import LINK_SECRET, link_token
from skyslots.mail.compose import Mail
from skyslots.models import Booking, Event, WaitlistEntry
from skyslots.outbox.relay import Leased
from skyslots.outbox.retry import DeliveryFailed


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H%Mz")


async def waitlist_mail(session: AsyncSession, leased: Leased, *, public_url: str) -> Mail:
    payload = leased.payload
    entry = await session.get(WaitlistEntry, payload["entry_id"])
    booking = await session.get(Booking, payload["booking_id"])
    if entry is None or booking is None:
        raise DeliveryFailed("the waitlist entry or its booking no longer exists", permanent=True)
    event = await session.get(Event, entry.event_id)
    assert event is not None  # entries go with their event
    secret = session.info[LINK_SECRET]
    context = {
        "name": entry.pilot_name,
        "callsign": entry.pilot_callsign,
        "label": payload["label"],
        "event_title": event.title,
    }
    if leased.kind == "waitlist.offered":
        token = link_token(
            secret, purpose="waitlist", row_id=entry.id, stored_hash=entry.manage_token_hash
        )
        expires_at = datetime.fromisoformat(payload["expires_at"])
        context |= {
            "link": f"{public_url}/waitlist/{entry.id}?token={token}",
            "deadline": zulu(expires_at),
        }
        subject = f"{payload['label']} is yours if you accept by {zulu(expires_at)}"
        return Mail("waitlist_offered", subject, context | {"subject": subject})
    token = link_token(
        secret, purpose="booking", row_id=booking.id, stored_hash=booking.manage_token_hash
    )
    context["link"] = f"{public_url}/bookings/{booking.id}/manage?token={token}"
    subject = f"Booked from the waitlist: {payload['label']} at {event.title}"
    return Mail("waitlist_promoted", subject, context | {"subject": subject})
