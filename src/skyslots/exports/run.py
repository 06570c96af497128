"""Running an export: lease the row, read the roster, make the file (in a thread), store it, and
only then mark it done. A failure is retried a few times, then the export fails with its reason;
a worker that dies leaves a lease that runs out, and the relay runs the export again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.exports.csv_file import bookings_csv
from skyslots.exports.data import ExportData, export_data
from skyslots.exports.pdf import roster_pdf
from skyslots.exports.png import roster_png
from skyslots.exports.service import CONTENT_TYPES, EXTENSIONS
from skyslots.models import Export
from skyslots.models.export import ExportFormat, ExportStatus
from skyslots.storage.base import Storage, StorageUnavailable

log = logging.getLogger(__name__)
_exports = Export.__table__  # type: ignore[attr-defined]
RETRY_SECONDS = 5.0  # then 10, 20 … (capped): storage that is down for a minute still succeeds
MAX_RETRY_SECONDS = 300.0
MAX_ERROR = 500

MAKERS: dict[ExportFormat, Callable[[ExportData, datetime], bytes]] = {
    ExportFormat.CSV: lambda data, _now: bookings_csv(data.bookings),
    ExportFormat.PDF: lambda data, now: roster_pdf(data, now=now),
    ExportFormat.PNG: lambda data, now: roster_png(data, now=now),
}


@dataclass(frozen=True)
class Lease:
    export_id: int
    attempt: int
    event_id: int
    format: ExportFormat
    by_system: bool  # the debounced roster image, not an organizer's request


def _due(now: datetime) -> object:
    """Queued and due, or running with its lease run out (its worker died)."""
    return or_(
        and_(_exports.c.status == ExportStatus.QUEUED.value, _exports.c.next_attempt_at <= now),
        and_(_exports.c.status == ExportStatus.RUNNING.value, _exports.c.next_attempt_at < now),
    )


async def export_lease(
    session: AsyncSession, *, export_id: int, lease_seconds: float, max_attempts: int
) -> Lease | None:
    """Take the export for one attempt, if it is due and has attempts left; else None (done,
    running elsewhere, or not due yet). One UPDATE, so two workers never both take it."""
    now = utcnow()
    row = (
        await session.execute(
            update(_exports)
            .where(_exports.c.id == export_id, _due(now), _exports.c.attempts < max_attempts)
            .values(
                status=ExportStatus.RUNNING.value,
                attempts=_exports.c.attempts + 1,
                progress=5,
                started_at=now,
                next_attempt_at=now + timedelta(seconds=lease_seconds),
            )
            .returning(
                _exports.c.attempts,
                _exports.c.event_id,
                _exports.c.format,
                _exports.c.requested_by,
            )
        )
    ).first()
    if row is None:
        return None
    return Lease(
        export_id, row.attempts, row.event_id, ExportFormat(row.format), row.requested_by is None
    )


def _mine(lease: Lease) -> object:
    return and_(
        _exports.c.id == lease.export_id,
        _exports.c.status == ExportStatus.RUNNING.value,
        _exports.c.attempts == lease.attempt,
    )


async def _progress(session: AsyncSession, *, lease: Lease, progress: int) -> None:
    await session.execute(update(_exports).where(_mine(lease)).values(progress=progress))


async def _done(session: AsyncSession, *, lease: Lease, key: str, version: int) -> bool:
    result = await session.execute(
        update(_exports)
        .where(_mine(lease))
        .values(
            status=ExportStatus.DONE.value,
            progress=100,
            object_key=key,
            roster_version=version,
            error=None,
            finished_at=utcnow(),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _failed(session: AsyncSession, *, lease: Lease, error: str, max_attempts: int) -> str:
    """Queue the next attempt after a growing pause, or fail the export when none is left."""
    now = utcnow()
    if lease.attempt < max_attempts:
        pause = min(RETRY_SECONDS * 2 ** (lease.attempt - 1), MAX_RETRY_SECONDS)
        values = {
            "status": ExportStatus.QUEUED.value,
            "progress": 0,
            "next_attempt_at": now + timedelta(seconds=pause),
            "error": f"attempt {lease.attempt} of {max_attempts} failed: {error}; trying again",
        }
    else:
        values = {"status": ExportStatus.FAILED.value, "error": error, "finished_at": now}
    await session.execute(update(_exports).where(_mine(lease)).values(**values))
    return values["status"]


def object_key(lease: Lease, version: int, *, roster_image: bool) -> str:
    """Each export is an artifact of its own (storage's cleanup keeps it); the debounced roster
    images share one, so only the newest stays. The key carries the roster version shown."""
    name = f"v{version}-{lease.export_id}.{EXTENSIONS[lease.format]}"
    if roster_image:
        return f"events/{lease.event_id}/roster-image/{name}"
    return f"events/{lease.event_id}/exports/{lease.export_id}/{name}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, StorageUnavailable):
        text = f"storage unreachable: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR]


async def run_export(db: Database, storage: Storage, settings: Settings, export_id: int) -> str:
    """Run one attempt of the export; returns its status afterwards (`skipped` when it was not
    due here). Safe to call twice and from several processes at once."""
    lease = await db.transaction(
        export_lease,
        export_id=export_id,
        lease_seconds=settings.export_lease_seconds,
        max_attempts=settings.export_max_attempts,
    )
    if lease is None:
        return "skipped"
    try:
        data = await db.read(export_data, event_id=lease.event_id)
        await db.transaction(_progress, lease=lease, progress=30)
        content = await asyncio.to_thread(MAKERS[lease.format], data, utcnow())
        await db.transaction(_progress, lease=lease, progress=70)
        key = object_key(lease, data.version, roster_image=lease.by_system)
        await storage.put(key, content, content_type=CONTENT_TYPES[lease.format])
    except Exception as exc:
        log.warning("export %d attempt %d failed", export_id, lease.attempt, exc_info=True)
        return await db.transaction(
            _failed, lease=lease, error=_reason(exc), max_attempts=settings.export_max_attempts
        )
    if not await db.transaction(_done, lease=lease, key=key, version=data.version):
        log.warning(
            "export %d: attempt %d lost its lease; its file is unused", export_id, lease.attempt
        )
        return "skipped"
    log.info("export %d (%s of event %d) done", export_id, lease.format, lease.event_id)
    return ExportStatus.DONE.value


async def exports_due(session: AsyncSession, *, max_attempts: int, limit: int = 50) -> list[int]:
    """Exports to run now: queued ones whose kick was lost or whose retry is due, and running
    ones whose worker died. An expired lease with no attempts left fails the export."""
    now = utcnow()
    await session.execute(
        update(_exports)
        .where(
            _exports.c.status == ExportStatus.RUNNING.value,
            _exports.c.next_attempt_at < now,
            _exports.c.attempts >= max_attempts,
        )
        .values(
            status=ExportStatus.FAILED.value,
            finished_at=now,
            error=f"the worker stopped during each of {max_attempts} attempts",
        )
    )
    rows = await session.scalars(
        select(_exports.c.id).where(_due(now)).order_by(_exports.c.next_attempt_at).limit(limit)
    )
    return list(rows)
