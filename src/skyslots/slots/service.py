"""Slots: organizers add, change and remove the positions and pilot slots of an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor, audit_record
from skyslots.errors import Conflict, NotFound, ValidationFailed
from skyslots.events.service import ensure_can_manage, event_get, event_managed
from skyslots.models import Booking, BookingStatus, Event, Slot, User
from skyslots.roster import roster_changed
from skyslots.slots.schemas import PILOT_FIELDS, SlotCreate, SlotUpdate, pilot_only


def _zulu(moment: datetime) -> str:
    return moment.strftime("%H%Mz")


class Labelled(Protocol):
    """What a slot's label is made of (a Slot, a SlotOut, or a row of those columns)."""

    @property
    def position_name(self) -> str: ...
    @property
    def start_time(self) -> datetime | None: ...
    @property
    def end_time(self) -> datetime | None: ...


def slot_label(slot: Labelled) -> str:
    """How people name a slot: `EGLL_TWR 1800-2000z`."""
    if slot.start_time and slot.end_time:
        return f"{slot.position_name} {_zulu(slot.start_time)}-{_zulu(slot.end_time)}"
    return slot.position_name


def _window(event: Event) -> str:
    return f"({event.start_datetime:%Y-%m-%d %H%Mz} to {event.end_datetime:%Y-%m-%d %H%Mz})"


def slot_problems(
    event: Event, *, start: datetime | None, end: datetime | None, slot_time: datetime | None
) -> list[tuple[str, str]]:
    """What keeps a slot's times outside its event, as (field, message) pairs; [] when it fits."""
    problems = []
    if start and end and (start < event.start_datetime or end > event.end_datetime):
        problems.append(
            (
                "start_time",
                f"the time block {_zulu(start)}-{_zulu(end)} must lie within the event "
                f"{_window(event)}",
            )
        )
    if slot_time and not event.start_datetime <= slot_time <= event.end_datetime:
        problems.append(
            (
                "slot_time",
                f"the slot time {slot_time:%Y-%m-%d %H%Mz} must lie within the event "
                f"{_window(event)}",
            )
        )
    return problems


def _ensure_inside_event(
    event: Event,
    loc: tuple[str | int, ...],
    *,
    start: datetime | None,
    end: datetime | None,
    slot_time: datetime | None,
) -> None:
    for field, message in slot_problems(event, start=start, end=end, slot_time=slot_time):
        raise ValidationFailed((*loc, field), message)


async def slot_get(session: AsyncSession, *, slot_id: int, for_update: bool = False) -> Slot:
    slot = await session.get(Slot, slot_id, with_for_update=for_update)
    if slot is None:
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    return slot


async def _managed_slot(
    session: AsyncSession, *, slot_id: int, user: User, for_update: bool = False
) -> tuple[Slot, Event]:
    slot = await slot_get(session, slot_id=slot_id, for_update=for_update)
    event = await event_get(session, event_id=slot.event_id)
    await ensure_can_manage(
        session, event_id=slot.event_id, organizer_id=event.organizer_id, user=user
    )
    return slot, event


async def next_order_index(session: AsyncSession, *, event_id: int) -> int:
    """The order_index the event's next unnumbered slot gets (after every existing one)."""
    last = await session.scalar(
        select(func.coalesce(func.max(Slot.order_index), -1)).where(Slot.event_id == event_id)
    )
    return int(last) + 1


async def slots_create(
    session: AsyncSession, *, event_id: int, user: User, items: Sequence[SlotCreate]
) -> list[Slot]:
    """Add slots to an event, all or nothing; unnumbered slots go after the existing ones."""
    event = await event_managed(session, event_id=event_id, user=user)
    for index, item in enumerate(items):
        loc: tuple[str | int, ...] = (index,) if len(items) > 1 else ()
        _ensure_inside_event(
            event, loc, start=item.start_time, end=item.end_time, slot_time=item.slot_time
        )
    next_index = await next_order_index(session, event_id=event_id)
    slots = []
    for item in items:
        order_index = item.order_index
        if order_index is None:
            order_index, next_index = next_index, next_index + 1
        slots.append(
            Slot(
                **item.model_dump(exclude={"order_index"}),
                order_index=order_index,
                event_id=event_id,
            )
        )
    session.add_all(slots)
    await session.flush()
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="slots.created",
        event_id=event_id,
        payload={"slots": [{"id": s.id, "label": slot_label(s)} for s in slots]},
    )
    await roster_changed(
        session, event_id=event_id, change="slots.added", data={"slot_ids": [s.id for s in slots]}
    )
    return slots


async def slot_update(session: AsyncSession, *, slot_id: int, user: User, data: SlotUpdate) -> Slot:
    """Lock or unlock a slot, change its notes, order, time block or (pilot slots) flight."""
    slot, event = await _managed_slot(session, slot_id=slot_id, user=user)
    changes = data.model_dump(exclude_unset=True)
    for field in ("is_locked", "notes", "order_index"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(field, f"{field} cannot be null")
    if slot.is_atc:
        for field in PILOT_FIELDS:
            if changes.get(field) is not None:
                raise ValidationFailed(field, pilot_only(field, slot.position_name))
    start = changes.get("start_time", slot.start_time)
    end = changes.get("end_time", slot.end_time)
    if (start is None) != (end is None):
        raise ValidationFailed("start_time", "give both start_time and end_time, or neither")
    if start and end and end <= start:
        raise ValidationFailed("end_time", "end_time must be after start_time")
    slot_time = changes.get("slot_time", slot.slot_time)
    _ensure_inside_event(event, (), start=start, end=end, slot_time=slot_time)
    changed = {k: v for k, v in changes.items() if getattr(slot, k) != v}
    if not changed:
        return slot
    for field, value in changed.items():
        setattr(slot, field, value)
    await session.flush()
    payload = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in changed.items()}
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="slot.updated",
        event_id=event.id,
        payload={"slot_id": slot.id, "label": slot_label(slot), "changes": payload},
    )
    await roster_changed(
        session, event_id=event.id, change="slot.updated", data={"slot_id": slot.id}
    )
    return slot


async def slot_delete(session: AsyncSession, *, slot_id: int, user: User) -> None:
    """Remove a slot; refused (409) while someone holds it."""
    # FOR UPDATE waits for claims in flight on this slot, so their bookings are seen below.
    slot, event = await _managed_slot(session, slot_id=slot_id, user=user, for_update=True)
    holder = await session.scalar(
        select(Booking.pilot_callsign).where(
            Booking.slot_id == slot_id, Booking.status == BookingStatus.CLAIMED
        )
    )
    if holder:
        raise Conflict(
            f"{slot_label(slot)} is booked by {holder}; release the booking before deleting it.",
            code="slot_booked",
        )
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="slot.deleted",
        event_id=event.id,
        payload={"slot_id": slot.id, "label": slot_label(slot)},
    )
    await session.delete(slot)
    await session.flush()
    await roster_changed(
        session, event_id=event.id, change="slot.removed", data={"slot_id": slot_id}
    )


async def slots_with_bookings(
    session: AsyncSession, *, event_id: int
) -> list[tuple[Slot, Booking | None]]:
    """The event's slots in roster order, each with its claimed booking if any."""
    rows = await session.execute(
        select(Slot, Booking)
        .outerjoin(
            Booking, (Booking.slot_id == Slot.id) & (Booking.status == BookingStatus.CLAIMED)
        )
        .where(Slot.event_id == event_id)
        .order_by(Slot.order_index, Slot.start_time, Slot.id)
    )
    return [(slot, booking) for slot, booking in rows]
