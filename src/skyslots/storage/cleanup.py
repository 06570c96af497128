"""The storage cleanup (beat, or in-process): per artifact only the newest object stays.

An older object goes once it is older than `grace_seconds` (the download URLs' lifetime), so a URL
handed out just before a newer version was stored still works until it expires. Temporary
uploads left by a process killed mid-put go after an hour.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from skyslots.db import utcnow
from skyslots.storage.base import Storage, StoredObject
from skyslots.storage.keys import BACKUPS, INCOMING, artifact_of

log = logging.getLogger(__name__)
INCOMING_GRACE = timedelta(hours=1)


def superseded(objects: list[StoredObject], *, grace_seconds: float, now: datetime) -> list[str]:
    """The keys to delete: every artifact's objects but its newest, once past the grace."""
    by_artifact: dict[str, list[StoredObject]] = defaultdict(list)
    for stored in objects:
        if stored.key.startswith(BACKUPS):  # kept by the backups' retention, not by "newest"
            continue
        by_artifact[artifact_of(stored.key)].append(stored)
    cutoff = now - timedelta(seconds=grace_seconds)
    doomed: list[str] = []
    for versions in by_artifact.values():
        versions.sort(key=lambda o: (o.modified, o.key))
        doomed.extend(o.key for o in versions[:-1] if o.modified <= cutoff)
    return doomed


async def clean_storage(
    storage: Storage, *, grace_seconds: float, prefix: str = "", now: datetime | None = None
) -> int:
    """Delete superseded objects under `prefix`; returns how many were deleted."""
    now = now or utcnow()
    doomed = superseded(await storage.list(prefix), grace_seconds=grace_seconds, now=now)
    stale = [o.key for o in await storage.list(INCOMING) if o.modified <= now - INCOMING_GRACE]
    if doomed or stale:
        await storage.delete([*doomed, *stale])
        log.info("storage cleanup: %d old objects deleted", len(doomed) + len(stale))
    return len(doomed) + len(stale)
