"""Wiring: the hub this process uses (Redis or in-process) and the snapshot loader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.realtime.hub import LocalHub
from skyslots.realtime.redis_hub import RedisHub
from skyslots.realtime.snapshots import SnapshotLoader
from skyslots.roster import PUBLISHER_KEY


@dataclass(frozen=True)
class Realtime:
    hub: LocalHub | RedisHub
    snapshots: SnapshotLoader
    gap_timeout: float


def realtime_hub(settings: Settings) -> LocalHub | RedisHub:
    """Redis pub/sub when SKYSLOTS_REDIS_URL is set, else the in-process hub (embedded mode)."""
    if settings.redis_url:
        return RedisHub(
            url=settings.redis_url,
            channel_prefix=settings.redis_channel_prefix,
            publish_timeout=settings.redis_publish_timeout_seconds,
            queue_size=settings.ws_queue_size,
            heartbeat_seconds=settings.ws_heartbeat_seconds,
        )
    return LocalHub(
        queue_size=settings.ws_queue_size, heartbeat_seconds=settings.ws_heartbeat_seconds
    )


@asynccontextmanager
async def realtime_running(settings: Settings, database: Database) -> AsyncIterator[Realtime]:
    """Start the hub, make every unit of work publish its roster changes to it, stop it after."""
    hub = realtime_hub(settings)
    await hub.start()
    database.share_with_sessions(**{PUBLISHER_KEY: hub})
    try:
        yield Realtime(
            hub=hub,
            snapshots=SnapshotLoader(database),
            gap_timeout=settings.ws_gap_timeout_seconds,
        )
    finally:
        database.share_with_sessions(**{PUBLISHER_KEY: None})
        await hub.stop()
