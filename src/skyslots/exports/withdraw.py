"""Export files that hold personal data deleted since (an erased person, a retention purge) are
withdrawn: the row keeps its history without the file, and the file is deleted after commit.

Storage is not transactional, so the database says what may stay: `unreferenced_files_delete`
(the storage cleanup) deletes every export file no row points to, which also covers a process
that died before its after-commit deletion and files left by an attempt that lost its lease.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Database, on_commit, utcnow
from skyslots.models import Export
from skyslots.models.export import ExportFormat, ExportStatus
from skyslots.storage.base import Storage

log = logging.getLogger(__name__)
STORAGE_KEY = "storage"  # the session.info key the app and the worker fill with the storage
WITHDRAWN = "withdrawn: personal data in it was deleted since; export again for a current file"
EXPORT_FILE = re.compile(r"events/\d+/(exports/\d+|roster-image)/[^/]+")
_exports = Export.__table__  # type: ignore[attr-defined]


async def exports_withdraw(
    session: AsyncSession,
    *,
    event_ids: Collection[int],
    formats: Collection[ExportFormat] = tuple(ExportFormat),
    now: datetime | None = None,
) -> list[str]:
    """Withdraw the files of these events' exports in `formats`: finished rows lose their
    file, a running one fails (it may have read the data before the deletion). Returns the keys
    withdrawn."""
    if not event_ids:
        return []
    connection = await session.connection()
    of_events = _exports.c.event_id.in_(sorted(event_ids)) & _exports.c.format.in_(
        [f.value for f in formats]
    )
    keys = list(
        await connection.scalars(
            select(_exports.c.object_key).where(of_events, _exports.c.object_key.is_not(None))
        )
    )
    await connection.execute(
        update(_exports)
        .where(of_events, _exports.c.object_key.is_not(None))
        .values(object_key=None, error=WITHDRAWN)
    )
    await connection.execute(
        update(_exports)
        .where(of_events, _exports.c.status == ExportStatus.RUNNING.value)
        .values(status=ExportStatus.FAILED.value, error=WITHDRAWN, finished_at=now or utcnow())
    )
    storage: Storage | None = session.info.get(STORAGE_KEY)
    if keys and storage is not None:

        async def delete_files() -> None:
            with contextlib.suppress(Exception):  # the storage cleanup deletes them later
                await storage.delete(keys)

        on_commit(session, delete_files)
    return keys


def is_export_file(key: str) -> bool:
    return EXPORT_FILE.fullmatch(key) is not None


async def _referenced(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            await session.scalars(
                select(_exports.c.object_key).where(_exports.c.object_key.in_(chunk))
            )
        )
    return found


async def unreferenced_files_delete(
    db: Database, storage: Storage, *, grace_seconds: float, now: datetime | None = None
) -> int:
    """Delete the export files older than `grace_seconds` that no export row points to (an
    export stores its file a moment before its row names it); how many were deleted."""
    cutoff = (now or utcnow()) - timedelta(seconds=grace_seconds)
    stored = await storage.list("events/")
    candidates = [o.key for o in stored if is_export_file(o.key) and o.modified <= cutoff]
    if not candidates:
        return 0
    referenced = await db.read(_referenced, candidates)
    doomed = [key for key in candidates if key not in referenced]
    if doomed:
        await storage.delete(doomed)
        log.info("storage cleanup: %d export files no export points to deleted", len(doomed))
    return len(doomed)
