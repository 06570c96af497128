"""The realtime protocol's messages (docs/realtime.md), built from the database as JSON dicts.

Every message is a full-state update (a whole slot, a whole event), so applying one twice, or
after a snapshot that already contains it, is harmless. A message is built without its version;
`stamped` adds it once the change's version is known (when it is published, and when a polling
client reads it back from the roster log).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import json_dumps
from skyslots.events.schemas import EventOut
from skyslots.features.service import feature_on
from skyslots.models import Event, EventStatus
from skyslots.slots.repository import public_slots

PING = '{"type":"ping"}'
PONG = '{"type":"pong"}'
RESYNC_NOTICE = '{"type":"resync"}'  # between processes only: "send your sockets a snapshot"

_events = Event.__table__.c  # type: ignore[attr-defined]

encode = json_dumps


def stamped(message: dict[str, Any], version: int) -> dict[str, Any]:
    """The message as sent: with its version (and its event's, for `event.updated`)."""
    result = {**message, "version": version}
    if isinstance(message.get("event"), dict):
        result["event"] = {**message["event"], "version": version}
    return result


def slot_message(*, event_id: int, change: str, slot: dict[str, Any]) -> dict[str, Any]:
    """`slot.updated` for one slot's SlotPublic JSON."""
    return {
        "type": "slot.updated",
        "event_id": event_id,
        "change": change,
        "slot_id": slot["id"],
        "slot": slot,
    }


async def event_json(session: AsyncSession, *, event_id: int) -> dict[str, Any] | None:
    row = (await session.execute(select(*_events).where(_events.id == event_id))).one_or_none()
    if row is None:
        return None
    event = EventOut.model_validate(row).model_dump(mode="json")
    # As the public page shows it (web.public.features_applied): no hold step, no waitlist.
    if not await feature_on(session, "holds"):
        event["hold_seconds"] = 0
    if not await feature_on(session, "waitlist"):
        event["waitlist_mode"] = "off"
    return event


async def change_message(
    session: AsyncSession, *, event_id: int, change: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The message for a roster change, read just before the event's row lock is taken.

    It is still current at commit: the slot rows are read FOR SHARE, so no other unit of work can
    change those slots (or their bookings, which also lock the slot) until this one commits; new
    slots and event fields are already locked by this unit of work's own writes.
    """
    head: dict[str, Any] = {"event_id": event_id, "change": change}
    slot_id = data.get("slot_id")
    if change == "slot.removed":
        return {"type": "slot.removed", **head, "slot_id": slot_id}
    connection = await session.connection()
    if slot_id is not None:
        slots = await public_slots(connection, event_id=event_id, slot_ids=[slot_id], lock=True)
        if not slots:  # removed in the same unit of work
            return {"type": "slot.removed", **head, "slot_id": slot_id}
        return slot_message(event_id=event_id, change=change, slot=slots[0])
    if "slot_ids" in data:
        kind = "slots.added" if change == "slots.added" else "slots.updated"
        slots = await public_slots(connection, event_id=event_id, slot_ids=data["slot_ids"])
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
