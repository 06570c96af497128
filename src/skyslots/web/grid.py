"""The roster as VATSIM staff draw it: an ATC grid (positions x time blocks) and a pilot list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from skyslots.bookings.service import ensure_bookable
from skyslots.errors import Conflict
from skyslots.events.schemas import EventDetail
from skyslots.models import Event, PositionType, Slot
from skyslots.slots.schemas import SlotPublic

ATC_ORDER = ["DEL", "GND", "TWR", "APP", "DEP", "CTR", "FSS", "RMP", "ATIS", "OBS"]


def slot_state(slot: SlotPublic) -> str:
    """free, taken or locked (a booking on a locked slot still shows who holds it)."""
    if slot.booking is not None:
        return "taken"
    return "locked" if slot.is_locked else "free"


def slot_times(slot: SlotPublic) -> str:
    if slot.start_time and slot.end_time:
        return f"{slot.start_time:%H%M}\u2013{slot.end_time:%H%M}z"
    return ""


def slot_label(slot: SlotPublic) -> str:
    """`EGLL_TWR 1800-2000z` (with an en dash), as the booking modal names the slot."""
    return f"{slot.position_name} {slot_times(slot)}".strip()


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
    taken: int
    locked: int

    @property
    def total(self) -> int:
        return self.free + self.taken + self.locked


@dataclass
class Roster:
    blocks: list[Block]
    rows: list[AtcRow]
    pilots: list[SlotPublic]
    counts: Counts
    closed_reason: str | None


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
        counts=Counts(
            free=states.count("free"), taken=states.count("taken"), locked=states.count("locked")
        ),
        closed_reason=closed_reason(event, now),
    )
