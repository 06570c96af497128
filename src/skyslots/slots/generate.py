"""Generating slots: ATC positions x time blocks, or a pilot slot every N minutes; no repeats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.errors import ValidationFailed
from skyslots.events.service import event_managed
from skyslots.models import Event, PositionType, Slot, User
from skyslots.slots.schemas import (
    MAX_GENERATED,
    AtcGenerate,
    GeneratePreview,
    GenerateResult,
    PilotGenerate,
    SkippedSlot,
    SlotCreate,
    SlotOut,
    SlotPreview,
)
from skyslots.slots.service import next_order_index, slots_create

Key = tuple[Any, ...]


def _range(event: Event, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """`from`..`to` (the event's own times where omitted), refused unless inside the event."""
    start = start or event.start_datetime
    end = end or event.end_datetime
    window = f"({event.start_datetime:%Y-%m-%d %H%Mz} to {event.end_datetime:%Y-%m-%d %H%Mz})"
    if not event.start_datetime <= start < event.end_datetime:
        raise ValidationFailed("from", f"from must lie within the event {window}")
    if end > event.end_datetime:
        raise ValidationFailed("to", f"to must lie within the event {window}")
    if end <= start:
        raise ValidationFailed("to", "to must be after from")
    return start, end


def _steps(start: datetime, end: datetime, minutes: int, field: str, per_step: int) -> int:
    """How many steps of `minutes` fit in start..end (a last partial one counts), within the cap."""
    steps = -((start - end) // timedelta(minutes=minutes))
    if steps * per_step > MAX_GENERATED:
        raise ValidationFailed(
            field, f"that makes {steps * per_step} slots; at most {MAX_GENERATED} at once"
        )
    return steps


def _moments(start: datetime, minutes: int, steps: int) -> Iterator[datetime]:
    return (start + timedelta(minutes=minutes * i) for i in range(steps))


def plan_atc(event: Event, request: AtcGenerate) -> list[SlotCreate]:
    """Every position in every block of `block_minutes`; the last block ends at `to`."""
    start, end = _range(event, request.start, request.end)
    positions = list(dict.fromkeys(request.positions))  # a position listed twice counts once
    steps = _steps(start, end, request.block_minutes, "block_minutes", len(positions))
    step = timedelta(minutes=request.block_minutes)
    blocks = [
        (moment, moment + min(step, end - moment))  # never past `end`, even near datetime.max
        for moment in _moments(start, request.block_minutes, steps)
    ]
    return [
        SlotCreate(
            position_name=position,
            start_time=block_start,
            end_time=block_end,
            min_rating=request.min_rating,
        )
        for position in positions
        for block_start, block_end in blocks
    ]


def plan_pilot(event: Event, request: PilotGenerate) -> list[SlotCreate]:
    """A slot at `from`, then every `every_minutes` before `to`, destinations taken in turn."""
    start, end = _range(event, request.start, request.end)
    steps = _steps(start, end, request.every_minutes, "every_minutes", 1)
    destinations = request.destinations
    return [
        SlotCreate(
            position_name=f"{request.origin_icao}-{destinations[i % len(destinations)]} "
            f"{moment:%H%M}z",
            position_type=PositionType.PILOT,
            origin_icao=request.origin_icao,
            destination_icao=destinations[i % len(destinations)],
            slot_time=moment,
            aircraft_type=request.aircraft_type,
        )
        for i, moment in enumerate(_moments(start, request.every_minutes, steps))
    ]


def slot_key(slot: Any) -> Key:
    """What makes two slots the same: ATC by position and block, pilot by city pair and time."""
    if slot.position_type == PositionType.PILOT:
        return ("pilot", slot.origin_icao, slot.destination_icao, slot.slot_time)
    return ("atc", slot.position_name, slot.start_time, slot.end_time)


async def _existing(session: AsyncSession, *, event_id: int) -> dict[Key, tuple[int, int]]:
    """The event's slots by key: (id, order_index)."""
    columns = (
        Slot.id, Slot.order_index, Slot.position_type, Slot.position_name, Slot.start_time,
        Slot.end_time, Slot.origin_icao, Slot.destination_icao, Slot.slot_time,
    )  # fmt: skip
    rows = await session.execute(select(*columns).where(Slot.event_id == event_id))
    return {slot_key(row): (row.id, row.order_index) for row in rows}


async def slots_generate(
    session: AsyncSession, *, event_id: int, user: User, request: AtcGenerate | PilotGenerate
) -> GeneratePreview | GenerateResult:
    """Generate slots (a preview on `dry_run`); those the event already has are skipped."""
    event = await event_managed(session, event_id=event_id, user=user)
    items = (
        plan_atc(event, request) if isinstance(request, AtcGenerate) else plan_pilot(event, request)
    )
    existing = await _existing(session, event_id=event_id)
    new: list[SlotCreate] = []
    skipped: list[SkippedSlot] = []
    for item in items:
        found = existing.get(slot_key(item))
        if found is None:
            new.append(item)
            continue
        slot_id, order_index = found
        skipped.append(
            SkippedSlot(
                **item.model_dump(exclude={"order_index"}),
                event_id=event_id,
                order_index=order_index,
                existing_slot_id=slot_id,
                reason=f"the event already has this slot (id {slot_id})",
            )
        )
    if request.dry_run:
        first = await next_order_index(session, event_id=event_id)
        previews = [
            SlotPreview(
                **item.model_dump(exclude={"order_index"}), event_id=event_id, order_index=first + i
            )
            for i, item in enumerate(new)
        ]
        return GeneratePreview(slots=previews, skipped=skipped)
    created = await slots_create(session, event_id=event_id, user=user, items=new) if new else []
    return GenerateResult(slots=[SlotOut.model_validate(s) for s in created], skipped=skipped)
