"""What a slot's state allows: the booking window, the lock, the occupant, a fixed callsign."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from skyslots.errors import Conflict, ValidationFailed
from skyslots.models import BookingStatus, EventStatus
from skyslots.slots.service import Labelled, slot_label


class BookingWindow(Protocol):
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def booking_opens_at(self) -> datetime | None: ...
    @property
    def booking_closes_at(self) -> datetime | None: ...
    @property
    def end_datetime(self) -> datetime: ...


class LockableSlot(Labelled, Protocol):
    @property
    def is_locked(self) -> bool: ...


def zulu(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H%Mz")


def booking_refusal(event: BookingWindow, now: datetime) -> Conflict | None:
    """Why the event takes no bookings now, or None when it does."""
    if event.status != EventStatus.PUBLISHED:
        state = "was cancelled" if event.status == EventStatus.CANCELLED else "is not published"
        return Conflict(f"{event.title} {state}; it takes no bookings.", code="event_not_published")
    if event.booking_opens_at and now < event.booking_opens_at:
        return Conflict(
            f"Booking for {event.title} opens at {zulu(event.booking_opens_at)}.",
            code="booking_not_open",
        )
    closes_at = event.booking_closes_at or event.end_datetime
    if now >= closes_at:
        return Conflict(
            f"Booking for {event.title} closed at {zulu(closes_at)}.", code="booking_closed"
        )
    return None


def ensure_bookable(event: BookingWindow, slot: LockableSlot, now: datetime) -> None:
    """Refuse a claim the event's state does not allow (409 with a reason)."""
    refusal = booking_refusal(event, now)
    if refusal is not None:
        raise refusal
    if slot.is_locked:
        raise Conflict(
            f"{slot_label(slot)} is locked by the organizers and cannot be booked.",
            code="slot_locked",
        )


@dataclass(frozen=True)
class Occupant:
    """Who occupies a slot: a hold, a waitlist offer or a claim."""

    id: int
    status: BookingStatus
    callsign: str | None
    name: str | None
    claimed_at: datetime
    expires_at: datetime | None
    token_hash: str | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Occupant | None:
        """The occupant in a row of the public slot columns (see skyslots.slots.repository)."""
        if values["occupant_id"] is None:
            return None
        return cls(
            id=values["occupant_id"],
            status=BookingStatus(values["occupant_status"]),
            callsign=values["occupant_callsign"],
            name=values["occupant_name"],
            claimed_at=values["occupant_claimed_at"],
            expires_at=values["occupant_expires_at"],
            token_hash=values.get("occupant_token_hash"),
        )

    def is_due(self, now: datetime) -> bool:
        """A hold or offer whose time is up: it blocks nobody any more."""
        return (
            self.status != BookingStatus.CLAIMED
            and self.expires_at is not None
            and (self.expires_at <= now)
        )

    def columns(self) -> dict[str, Any]:
        """As the public slot columns name it (see `with_occupant`)."""
        return {
            "occupant_id": self.id,
            "status": self.status,
            "callsign": self.callsign,
            "name": self.name,
            "claimed_at": self.claimed_at,
            "expires_at": self.expires_at,
        }


def occupied(slot: Labelled, occupant: Occupant) -> Conflict:
    """The 409 for a slot someone else holds or has claimed."""
    label = slot_label(slot)
    if occupant.status == BookingStatus.CLAIMED:
        by = f" by {occupant.callsign}" if occupant.callsign else ""
        return Conflict(f"{label} was just claimed{by}.", code="slot_taken")
    until = f"{occupant.expires_at:%H:%M:%S}z" if occupant.expires_at else "shortly"
    whom = (
        " for the next person on its waitlist" if occupant.status == BookingStatus.OFFERED else ""
    )
    return Conflict(
        f"{label} is held{whom} until {until}; it is free again if nobody books it by then.",
        code="slot_held",
    )


def pending_kind(status: BookingStatus) -> str:
    """What a time-limited occupant is called in change names: hold, offer or confirmation."""
    return {BookingStatus.OFFERED: "offer", BookingStatus.UNCONFIRMED: "confirmation"}.get(
        status, "hold"
    )


def booking_callsign(fixed: str | None, given: str | None) -> str:
    """The callsign a booking uses: the slot's fixed one (blank means "use it"), else the given."""
    if fixed:
        if given and given != fixed:
            raise ValidationFailed(
                "pilot_callsign",
                f"this slot is flown as {fixed}; leave the callsign blank or use it",
            )
        return fixed
    if not given:
        raise ValidationFailed("pilot_callsign", "a callsign is required, e.g. BAW123")
    return given
