"""The event page's booking window: open, not open yet, closed, or no bookings at all."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from skyslots.events.schemas import EventDetail
from skyslots.models import EventStatus
from skyslots.web.grid import closed_reason

WindowStateName = Literal["open", "upcoming", "closed", "cancelled", "unpublished"]
# The hero's one-word-ish summary of each state (static/app.js has the same labels).
BADGES: dict[str, str] = {
    "open": "Booking open",
    "upcoming": "Booking not open yet",
    "closed": "Booking closed",
    "cancelled": "Booking closed",
    "unpublished": "Not published",
}


@dataclass(frozen=True)
class BookingWindow:
    """What the page says about booking now; `now` is the server's clock the page embeds."""

    state: WindowStateName
    opens_at: datetime | None
    closes_at: datetime
    now: datetime

    @property
    def badge(self) -> str:
        return BADGES[self.state]

    @property
    def countdown(self) -> str:
        """Time left until opening as the page's timer shows it (`2d 03:14:05`), else ""."""
        if self.state != "upcoming" or self.opens_at is None:
            return ""
        return countdown_text(math.ceil((self.opens_at - self.now).total_seconds()))


def countdown_text(seconds: int) -> str:
    """`2d 03:14:05`, or `03:14:05` under a day (the same format as static/app.js)."""
    days, rest = divmod(max(0, seconds), 86_400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {clock}" if days else clock


def booking_window(event: EventDetail, now: datetime) -> BookingWindow:
    """Classify the event's booking window at `now`, by the booking core's own rule."""
    closes_at = event.booking_closes_at or event.end_datetime
    opens_at = event.booking_opens_at
    if closed_reason(event, now) is None:
        state: WindowStateName = "open"
    elif event.status == EventStatus.CANCELLED:
        state = "cancelled"
    elif event.status != EventStatus.PUBLISHED:
        state = "unpublished"
    elif opens_at is not None and now < opens_at:
        state = "upcoming"
    else:
        state = "closed"
    return BookingWindow(state=state, opens_at=opens_at, closes_at=closes_at, now=now)
