"""Snapshots: the whole roster at a version, read in one short read-only unit of work.

Sockets asking for the same event's snapshot at the same moment (a thousand clients connecting,
everyone resyncing after a Redis outage) share one database read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Database
from skyslots.errors import NotFound
from skyslots.events.schemas import EventOut
from skyslots.events.service import event_visible
from skyslots.models import User
from skyslots.realtime.messages import encode
from skyslots.slots.repository import public_slots


@dataclass(frozen=True)
class Snapshot:
    version: int
    text: str


async def snapshot_message(
    session: AsyncSession, *, event_id: int, viewer: User | None = None
) -> dict[str, Any] | None:
    """The whole roster, or None for an unknown event or a draft the viewer may not see.

    The version is read first: the slots read after it are at least that new, and every later
    change is a full-state update, so a client applying them from there converges.
    """
    try:
        event = await event_visible(session, event_id=event_id, viewer=viewer)
    except NotFound:
        return None
    return {
        "type": "snapshot",
        "event_id": event_id,
        "version": event.version,
        "event": EventOut.model_validate(event).model_dump(mode="json"),
        "slots": await public_slots(await session.connection(), event_id=event_id),
    }


class SnapshotLoader:
    """Public snapshots with coalescing: callers that arrive before a read starts share it."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._waiting: dict[int, asyncio.Future[Snapshot | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def get(self, event_id: int) -> Snapshot | None:
        future = self._waiting.get(event_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[event_id] = future
            task = asyncio.create_task(self._load(event_id, future))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(future)

    async def _load(self, event_id: int, future: asyncio.Future[Snapshot | None]) -> None:
        await asyncio.sleep(0)  # let the sockets connecting in this loop turn join
        # A caller that subscribed after this point must not get a read that started before it.
        del self._waiting[event_id]
        try:
            message = await self._database.read(snapshot_message, event_id=event_id)
        except Exception as exc:
            future.set_exception(exc)
            return
        snapshot = None if message is None else Snapshot(message["version"], encode(message))
        future.set_result(snapshot)
