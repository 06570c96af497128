"""How exports write times and occupants (the same words as the event page)."""

from __future__ import annotations

from datetime import datetime

from skyslots.events.schemas import EventDetail
from skyslots.slots.schemas import SlotPublic
from skyslots.web.grid import slot_state


def zulu(moment: datetime | None) -> str:
    return f"{moment:%H%M}z" if moment else ""


def block_label(start: datetime, end: datetime) -> str:
    return f"{zulu(start)}\u2013{zulu(end)}"


def event_when(event: EventDetail) -> str:
    start, end = event.start_datetime, event.end_datetime
    same_day = start.date() == end.date()
    until = f"{end:%H%M}z" if same_day else f"{end:%Y-%m-%d %H%M}z"
    return f"{start:%a %d %b %Y} · {start:%H%M}z\u2013{until}"


def occupant(slot: SlotPublic) -> tuple[str, str]:
    """(callsign, name) of the booking, or (state, "") for a free, held or locked slot."""
    if slot.booking is not None:
        return slot.booking.pilot_callsign, slot.booking.pilot_name
    return slot_state(slot), ""
