"""The organizer's view of an event's waitlists: who waits for which slot, type or any slot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.events.detail import event_detail
from skyslots.events.schemas import EventDetail
from skyslots.features.deps import requires_feature
from skyslots.models import PositionType, User, WaitlistEntry, WaitlistStatus
from skyslots.validation import RowId
from skyslots.waitlist.service import waitlist_of_event
from skyslots.web.deps import OrganizerPage
from skyslots.web.grid import slot_label
from skyslots.web.templating import PageRoute, render

router = APIRouter(
    prefix="/organizer",
    route_class=PageRoute,
    include_in_schema=False,
    dependencies=[requires_feature("waitlist")],
)
TYPE_ORDER = [kind.value for kind in PositionType]


@dataclass
class Line:
    """One waitlist target's entries in line order; `place` numbers the waiting ones from 1."""

    anchor: str
    title: str
    kind: str  # slot, type or event
    entries: list[tuple[int | None, WaitlistEntry]] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(1 for place, _ in self.entries if place is not None)


def duration(seconds: int) -> str:
    """`30 minutes`, `1 hour 30 minutes`, `7 days`: an offer's time as people say it."""
    parts = []
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def _target(entry: WaitlistEntry) -> tuple[str, str]:
    if entry.slot_id is not None:
        return "slot", f"wait-slot-{entry.slot_id}"
    if entry.position_type is not None:
        return "type", f"wait-type-{entry.position_type}"
    return "event", "wait-event"


def waitlist_lines(event: EventDetail, entries: list[WaitlistEntry]) -> list[Line]:
    """Entries grouped by target: slots in roster order, then position types, then any slot."""
    labels = {slot.id: slot_label(slot) for slot in event.slots}
    lines: dict[str, Line] = {}
    for entry in entries:  # already in line order
        kind, anchor = _target(entry)
        if anchor not in lines:
            if kind == "slot":
                title = labels.get(entry.slot_id or 0, f"Slot {entry.slot_id}")
            elif kind == "type":
                title = f"Any {entry.position_type} slot"
            else:
                title = "Any slot of the event"
            lines[anchor] = Line(anchor, title, kind)
        line = lines[anchor]
        place = line.waiting + 1 if entry.status == WaitlistStatus.WAITING else None
        line.entries.append((place, entry))
    order = {slot.id: index for index, slot in enumerate(event.slots)}

    def rank(line: Line) -> tuple[int, int]:
        _, entry = line.entries[0]
        if line.kind == "slot":
            return 0, order.get(entry.slot_id or 0, len(order))
        if line.kind == "type":
            kind = entry.position_type or ""
            return 1, TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER)
        return 2, 0

    return sorted(lines.values(), key=rank)


def waiting_per_slot(entries: list[WaitlistEntry]) -> Counter[int]:
    """How many wait in line for each slot (entries for a type or any slot are not counted)."""
    return Counter(
        e.slot_id for e in entries if e.slot_id is not None and e.status == WaitlistStatus.WAITING
    )


def waiting_elsewhere(entries: list[WaitlistEntry]) -> int:
    """How many wait for any slot of a type, or any slot of the event."""
    return sum(1 for e in entries if e.slot_id is None and e.status == WaitlistStatus.WAITING)


async def roster_and_waitlist(
    session: AsyncSession, *, event_id: int, user: User
) -> tuple[EventDetail, list[WaitlistEntry]]:
    """The event's roster and its waitlist entries, for its organizer (404/403 otherwise)."""
    entries = await waitlist_of_event(session, event_id=event_id, user=user)
    return await event_detail(session, event_id=event_id, viewer=user), entries


@router.get("/events/{event_id}/waitlist")
async def waitlist_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """Everyone waiting, by slot, position type or any slot, in line order."""
    event, entries = await db.read(roster_and_waitlist, event_id=event_id, user=user)
    context = {
        "event": event,
        "tab": "waitlist",
        "lines": waitlist_lines(event, entries),
        "waiting": sum(1 for e in entries if e.status == WaitlistStatus.WAITING),
        "offer_time": duration(event.offer_seconds),
    }
    return render(request, "organizer/waitlist.html", context)
