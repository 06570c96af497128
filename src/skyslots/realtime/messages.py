"""The realtime protocol's messages (docs/realtime.md), built from the database as JSON dicts.

Every message is a full-state update (a whole slot, a whole event), so applying one twice, or
after a snapshot that already contains it, is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.events.schemas import EventOut
from skyslots.models import Booking, BookingStatus, Event, EventStatus, Slot
from skyslots.slots.schemas import SlotOut, SlotPublic

PING = '{"type":"ping"}'
PONG = '{"type":"pong"}'
RESYNC_NOTICE = '{"type":"resync"}'  # between processes only: "send your sockets a snapshot"

_slots = Slot.__table__.c  # type: ignore[attr-defined]
_bookings = Booking.__table__.c  # type: ignore[attr-defined]
_events = Event.__table__.c  # type: ignore[attr-defined]

# Core, not ORM, selects: the ORM would hand back the caller's (possibly stale) identity-mapped
# objects instead of the rows as they are now, under the event's row lock.
_SLOT_ROWS = (
    select(
        *_slots,
        _bookings.id.label("booking_id"),
        _bookings.pilot_callsign,
        _bookings.pilot_name,
        _bookings.status.label("booking_status"),
        _bookings.claimed_at,
    )
    .select_from(Slot.__table__)  # type: ignore[attr-defined]
    .outerjoin(
        Booking.__table__,  # type: ignore[attr-defined]
        (_bookings.slot_id == _slots.id) & (_bookings.status == BookingStatus.CLAIMED.value),
    )
)
_SLOT_KEYS = tuple(SlotOut.model_fields)


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def slot_json(row: Row[Any]) -> dict[str, Any]:
    """A slot row (with its claimed booking's columns) as SlotPublic JSON."""
    return slot_values_json(row._mapping)


def slot_values_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """A slot's columns (`_SLOT_ROWS`' names; `booking_id` None when free) as SlotPublic JSON."""
    fields = {key: values[key] for key in _SLOT_KEYS}
    if values["booking_id"] is not None:
        fields["booking"] = {
            "id": values["booking_id"],
            "pilot_callsign": values["pilot_callsign"],
            "pilot_name": values["pilot_name"],
            "status": values["booking_status"],
            "claimed_at": values["claimed_at"],
        }
    return SlotPublic.model_validate(fields).model_dump(mode="json")


def slot_message(*, event_id: int, change: str, slot: dict[str, Any]) -> dict[str, Any]:
    """`slot.updated` for one slot's SlotPublic JSON, with `version` still 0."""
    head: dict[str, Any] = {"event_id": event_id, "version": 0, "change": change}
    return {"type": "slot.updated", **head, "slot_id": slot["id"], "slot": slot}


async def slots_json(
    session: AsyncSession, *, event_id: int, slot_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """The event's slots (all, or those in `slot_ids`) in roster order, as SlotPublic JSON."""
    statement = _SLOT_ROWS.where(_slots.event_id == event_id)
    if slot_ids is not None:
        statement = statement.where(_slots.id.in_(slot_ids))
    statement = statement.order_by(_slots.order_index, _slots.start_time, _slots.id)
    return [slot_json(row) for row in await session.execute(statement)]


async def event_json(session: AsyncSession, *, event_id: int) -> dict[str, Any] | None:
    row = (await session.execute(select(*_events).where(_events.id == event_id))).one_or_none()
    return None if row is None else EventOut.model_validate(row).model_dump(mode="json")


async def change_message(
    session: AsyncSession, *, event_id: int, change: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The message for a roster change, with `version` still 0 (the caller fills it in).

    Read before the event's row lock is taken, to keep that lock short. It is still current at
    commit: the slot row is read FOR SHARE, so no other unit of work can change that slot (or
    its booking, which also needs the slot) until this one commits; new slots and event fields
    are already locked by this unit of work's own writes.
    """
    head: dict[str, Any] = {"event_id": event_id, "version": 0, "change": change}
    slot_id = data.get("slot_id")
    if change == "slot.removed":
        return {"type": "slot.removed", **head, "slot_id": slot_id}
    if slot_id is not None:
        statement = _SLOT_ROWS.where(_slots.id == slot_id).with_for_update(
            read=True,
            of=Slot.__table__,  # type: ignore[attr-defined]
        )
        row = (await session.execute(statement)).one_or_none()
        if row is None:  # removed in the same unit of work
            return {"type": "slot.removed", **head, "slot_id": slot_id}
        return slot_message(event_id=event_id, change=change, slot=slot_json(row))
    if "slot_ids" in data:
        kind = "slots.added" if change == "slots.added" else "slots.updated"
        slots = await slots_json(session, event_id=event_id, slot_ids=data["slot_ids"])
        return {"type": kind, **head, "slots": slots}
    return {"type": "event.updated", **head, "event": await event_json(session, event_id=event_id)}


def deleted_message(*, event_id: int, version: int) -> dict[str, Any]:
    return {"type": "event.deleted", "event_id": event_id, "version": version}


def is_final(message: dict[str, Any]) -> bool:
    """After this message the event is gone from public view: sockets close with 4404."""
    if message.get("type") == "event.deleted":
        return True
    event = message.get("event") if message.get("type") == "event.updated" else None
    return bool(event) and event.get("status") == EventStatus.DRAFT.value
