"""iCalendar files (RFC 5545, the `icalendar` package): times in UTC, stable UIDs, SEQUENCE the
event's roster version (it rises with every change, so subscribed calendars take the update)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar
from icalendar import Event as CalendarEvent

from skyslots.calendars.text import markdown_text
from skyslots.models import Event, EventStatus, Slot

PILOT_SLOT_MINUTES = 30  # a departure slot has a time, not a block: shown as half an hour
PRODID = "-//SkySlots//Slot booking//EN"


def slot_span(slot: Slot, event: Event) -> tuple[datetime, datetime]:
    """When the slot's holder is on: its block, its slot time, else the whole event."""
    if slot.start_time and slot.end_time:
        return slot.start_time, slot.end_time
    if slot.slot_time:
        return slot.slot_time, slot.slot_time + timedelta(minutes=PILOT_SLOT_MINUTES)
    return event.start_datetime, event.end_datetime


@dataclass(frozen=True)
class StaffedBlock:
    """An ATC slot with its claimed booking."""

    slot: Slot
    callsign: str
    claimed_at: datetime


def uid(kind: str, row_id: int, public_url: str) -> str:
    """Stable per installation: `event-7@skyslots.example.org`."""
    return f"{kind}-{row_id}@{urlsplit(public_url).hostname or 'skyslots'}"


def event_page(event: Event, public_url: str) -> str:
    return f"{public_url}/events/{event.id}"


def _location(event: Event) -> str:
    return f"{event.airport_icao} {event.airport_name}".strip()


def _status(event: Event, *, active: bool = True) -> str:
    return "CANCELLED" if event.status == EventStatus.CANCELLED or not active else "CONFIRMED"


def _entry(
    *,
    uid: str,
    stamp: datetime,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    event: Event,
    url: str,
    status: str,
) -> CalendarEvent:
    entry = CalendarEvent()
    entry.add("uid", uid)
    entry.add("dtstamp", stamp.astimezone(UTC))
    entry.add("last-modified", stamp.astimezone(UTC))
    entry.add("sequence", event.version)
    entry.add("dtstart", start.astimezone(UTC))
    entry.add("dtend", end.astimezone(UTC))
    entry.add("summary", summary)
    entry.add("description", description)
    entry.add("location", _location(event))
    entry.add("url", url)
    entry.add("status", status)
    return entry


def _calendar(name: str, entries: Sequence[CalendarEvent]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        calendar.add_component(entry)
    return calendar.to_ical()


def event_calendar(event: Event, blocks: Sequence[StaffedBlock], *, public_url: str) -> bytes:
    """The event, then one entry per staffed ATC block (its position and callsign).

    Only stored fields go in (DTSTAMP is the event's last update), so the same roster version
    always gives the same bytes, whichever process generates it.
    """
    assert event.id is not None
    url = event_page(event, public_url)
    status = _status(event)
    text = markdown_text(event.description)
    entries = [
        _entry(
            uid=uid("event", event.id, public_url),
            stamp=event.updated_at,
            start=event.start_datetime,
            end=event.end_datetime,
            summary=event.title,
            description="\n\n".join(part for part in (text, url) if part),
            event=event,
            url=url,
            status=status,
        )
    ]
    for block in sorted(blocks, key=lambda b: slot_span(b.slot, event)[0]):  # stable: roster order
        start, end = slot_span(block.slot, event)
        position = block.slot.position_name
        entries.append(
            _entry(
                uid=f"slot-{block.slot.id}.{uid('event', event.id, public_url)}",
                stamp=max(block.claimed_at, event.updated_at),
                start=start,
                end=end,
                summary=f"{position}: {block.callsign}",
                description=f"{block.callsign} on {position} at {event.title}.\n\n{url}",
                event=event,
                url=url,
                status=status,
            )
        )
    return _calendar(event.title, entries)


def booking_calendar(
    *,
    booking_id: int,
    label: str,
    callsign: str,
    active: bool,
    slot: Slot,
    event: Event,
    public_url: str,
    manage_link: str,
    stamp: datetime,
) -> bytes:
    """A booker's own slot, with an alarm at the event's first reminder offset."""
    start, end = slot_span(slot, event)
    url = event_page(event, public_url)
    entry = _entry(
        uid=uid("booking", booking_id, public_url),
        stamp=stamp,
        start=start,
        end=end,
        summary=f"{label} · {event.title}",
        description=f"{callsign} on {label}.\n\nEvent: {url}\nManage the booking: {manage_link}",
        event=event,
        url=url,
        status=_status(event, active=active),
    )
    offsets = event.reminder_offsets_minutes or []
    if offsets and active:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{label} · {event.title}")
        alarm.add("trigger", timedelta(minutes=-int(offsets[0])))
        entry.add_component(alarm)
    return _calendar(event.title, [entry])


@dataclass(frozen=True)
class BookedSlot:
    """One claimed booking of a person's, with its slot and event (a personal feed's entry)."""

    booking_id: int
    label: str
    callsign: str
    slot: Slot
    event: Event
    stamp: datetime


def personal_calendar(
    bookings: Sequence[BookedSlot], *, name: str, public_url: str, page_url: str
) -> bytes:
    """A person's claimed bookings, one entry each, with the UIDs of the bookings' own files
    (`booking-<id>@<host>`), so a calendar holding both shows each slot once."""
    entries = []
    for booked in bookings:
        start, end = slot_span(booked.slot, booked.event)
        url = event_page(booked.event, public_url)
        entries.append(
            _entry(
                uid=uid("booking", booked.booking_id, public_url),
                stamp=booked.stamp,
                start=start,
                end=end,
                summary=f"{booked.label} · {booked.event.title}",
                description=f"{booked.callsign} on {booked.label}.\n\nEvent: {url}\n"
                f"Your bookings: {page_url}",
                event=booked.event,
                url=url,
                status=_status(booked.event),
            )
        )
    return _calendar(name, entries)
