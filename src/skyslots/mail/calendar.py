"""A booked slot as an iCalendar event (the .ics a confirmation mail carries)."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from skyslots.models import Event, Slot

PILOT_SLOT_MINUTES = 30  # a departure slot has a time, not a block: shown as half an hour


def slot_span(slot: Slot, event: Event) -> tuple[datetime, datetime]:
    """When the slot's holder is on: its block, its slot time, else the whole event."""
    if slot.start_time and slot.end_time:
        return slot.start_time, slot.end_time
    if slot.slot_time:
        return slot.slot_time, slot.slot_time + timedelta(minutes=PILOT_SLOT_MINUTES)
    return event.start_datetime, event.end_datetime


def slot_calendar(
    *, uid: str, summary: str, description: str, url: str, slot: Slot, event: Event
) -> bytes:
    start, end = slot_span(slot, event)
    entry = CalendarEvent()
    entry.add("uid", uid)
    entry.add("dtstamp", datetime.now(start.tzinfo))
    entry.add("dtstart", start)
    entry.add("dtend", end)
    entry.add("summary", summary)
    entry.add("description", description)
    entry.add("location", event.airport_icao)
    entry.add("url", url)
    calendar = Calendar()
    calendar.add("prodid", "-//SkySlots//Slot booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(entry)
    return calendar.to_ical()
