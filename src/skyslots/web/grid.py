"""The roster as VATSIM staff draw it: an ATC grid (positions x time blocks) and a pilot list."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from skyslots.bookings.service import ensure_bookable
from skyslots.errors import Conflict
from skyslots.events.schemas import EventDetail
from skyslots.models import Event, PositionType, Slot, User
from skyslots.ratings import rating_name, rating_refusal, required_rating
from skyslots.slots.schemas import SlotPublic, SlotState

ATC_ORDER = ["DEL", "GND", "TWR", "APP", "DEP", "CTR", "FSS", "RMP", "ATIS", "OBS"]


def slot_state(slot: SlotPublic) -> str:
    """free, held (a hold or a waitlist offer), taken or locked (a booking or a hold on a locked
    slot still shows)."""
    if slot.booking is not None:
        return "taken"
    if slot.status == SlotState.HELD:
        return "held"
    return "locked" if slot.is_locked else "free"


def minutes_left(until: datetime | None, now: datetime) -> str:
    """`4:12`: the minutes and seconds from `now` to `until` (static/app.js counts the same)."""
    if until is None:
        return ""
    seconds = max(0, math.ceil((until - now).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def slot_times(slot: SlotPublic) -> str:
    if slot.start_time and slot.end_time:
        return f"{slot.start_time:%H%M}\u2013{slot.end_time:%H%M}z"
    return ""


def slot_label(slot: SlotPublic) -> str:
    """`EGLL_TWR 1800-2000z` (with an en dash), as the booking modal names the slot."""
    return f"{slot.position_name} {slot_times(slot)}".strip()


@dataclass(frozen=True)
class Gate:
    """Who the page lets take a slot: `open` (Claim), `login` (Sign in to book) or `rating`
    (a disabled Claim saying why); `badge` the rating it needs (`S2+`), if any."""

    kind: str = "open"
    badge: str = ""
    short: str = ""
    reason: str = ""


OPEN = Gate()


def slot_gates(event: EventDetail, viewer: User | None) -> dict[int, Gate]:
    """The gate of each slot that has one (the booking core's own rules, see skyslots.ratings);
    an event without rules has none."""
    gates = {}
    for slot in event.slots:
        required = required_rating(
            min_rating=slot.min_rating,
            position_type=slot.position_type.value,
            apply_defaults=event.apply_rating_defaults,
        )
        if required is None and not event.booking_requires_login:
            continue
        refusal = rating_refusal(
            position=slot.position_name,
            required=required,
            requires_login=event.booking_requires_login,
            title=event.title,
            user=viewer,
        )
        badge = f"{rating_name(required)}+" if required is not None else ""
        if refusal is None:
            gates[slot.id] = Gate(badge=badge)
        elif refusal.code == "login_required":
            gates[slot.id] = Gate("login", badge, "Sign in to book", refusal.detail)
        else:
            you = rating_name(viewer.rating_id) if viewer and viewer.rating_id else "no rating"
            short = f"Needs {badge} (you: {you})"
            gates[slot.id] = Gate("rating", badge, short, refusal.detail)
    return gates


@dataclass(frozen=True)
class Block:
    start: datetime
    end: datetime


@dataclass
class AtcRow:
    position: str
    position_type: str
    cells: dict[Block, list[SlotPublic]] = field(default_factory=dict)


@dataclass(frozen=True)
class Counts:
    free: int
    held: int
    taken: int
    locked: int

    @property
    def total(self) -> int:
        return self.free + self.held + self.taken + self.locked


@dataclass
class Roster:
    blocks: list[Block]
    rows: list[AtcRow]
    pilots: list[SlotPublic]
    counts: Counts
    closed_reason: str | None
    now: datetime
    position_types: list[str]


def closed_reason(event: EventDetail, now: datetime) -> str | None:
    """Why the event takes no claims right now (the booking core's own rule), or None."""
    model = Event(**event.model_dump(exclude={"slots"}))
    probe = Slot(event_id=event.id, position_name="", position_type="PILOT", is_locked=False)
    try:
        ensure_bookable(model, probe, now)
    except Conflict as exc:
        return exc.detail
    return None


def _atc_rank(slot: SlotPublic) -> tuple[int, int, str]:
    kind = slot.position_type.value
    rank = ATC_ORDER.index(kind) if kind in ATC_ORDER else len(ATC_ORDER)
    return rank, slot.order_index, slot.position_name


def build_roster(event: EventDetail, now: datetime) -> Roster:
    """Group the event's slots: ATC rows from DEL up to CTR, pilot slots by slot time."""
    atc = [s for s in event.slots if s.position_type != PositionType.PILOT]
    pilots = [s for s in event.slots if s.position_type == PositionType.PILOT]
    rows: dict[str, AtcRow] = {}
    blocks: set[Block] = set()
    for slot in sorted(atc, key=_atc_rank):
        block = Block(slot.start_time or event.start_datetime, slot.end_time or event.end_datetime)
        blocks.add(block)
        row = rows.setdefault(
            slot.position_name, AtcRow(slot.position_name, slot.position_type.value)
        )
        row.cells.setdefault(block, []).append(slot)
    pilots.sort(key=lambda s: (s.start_time or event.start_datetime, s.order_index, s.id))
    # Then by slot time (CTOT/ETA); the sort is stable, so untimed slots keep that order after.
    pilots.sort(key=lambda s: (s.slot_time is None, s.slot_time or event.start_datetime))
    states = [slot_state(s) for s in event.slots]
    return Roster(
        blocks=sorted(blocks, key=lambda b: (b.start, b.end)),
        rows=list(rows.values()),
        pilots=pilots,
        counts=Counts(**{name: states.count(name) for name in ("free", "held", "taken", "locked")}),
        closed_reason=closed_reason(event, now),
        now=now,
        position_types=_position_types(event),
    )


def _position_types(event: EventDetail) -> list[str]:
    """The event's position types in roster order (ATC from DEL up, then PILOT)."""
    kinds = {s.position_type.value for s in event.slots}
    order = [*ATC_ORDER, PositionType.PILOT.value]
    return sorted(kinds, key=lambda k: order.index(k) if k in order else len(order))
