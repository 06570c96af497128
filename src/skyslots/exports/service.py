"""Exports: request one (the same one twice within a minute is the same export), read them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Retry, on_commit, utcnow
from skyslots.errors import NotFound
from skyslots.events.service import event_managed
from skyslots.exports.schemas import ExportOut
from skyslots.models import Export, User
from skyslots.models.export import ACTIVE_ONLY, ExportFormat, ExportStatus
from skyslots.storage.base import Storage

EXPORT_KICK_KEY = "export_kick"
SAME_REQUEST_SECONDS = 60  # a repeated request within this returns the export already made
LIST_LIMIT = 100
EXTENSIONS = {ExportFormat.CSV: "csv", ExportFormat.PDF: "pdf", ExportFormat.PNG: "png"}
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PDF: "application/pdf",
    ExportFormat.PNG: "image/png",
}
NAMES = {ExportFormat.CSV: "bookings", ExportFormat.PDF: "roster", ExportFormat.PNG: "roster"}
_exports = Export.__table__  # type: ignore[attr-defined]
_active = [ExportStatus.QUEUED.value, ExportStatus.RUNNING.value]


class ExportKick(Protocol):
    async def __call__(self, export_id: int) -> None:
        """Start running this export soon; never raises (the relay finds it anyway)."""


def _kick_after_commit(session: AsyncSession, export_id: int) -> None:
    kick: ExportKick | None = session.info.get(EXPORT_KICK_KEY)
    if kick is not None:

        async def after_commit() -> None:
            await kick(export_id)

        on_commit(session, after_commit)


async def _same_request(
    session: AsyncSession, *, event_id: int, format: ExportFormat, now: datetime
) -> Export | None:
    """The queued or running export of this event and format, or one finished just now (and
    not withdrawn since)."""
    recent = now - timedelta(seconds=SAME_REQUEST_SECONDS)
    return await session.scalar(
        select(Export)
        .where(
            Export.event_id == event_id,  # type: ignore[arg-type]
            Export.format == format.value,  # type: ignore[arg-type]
            or_(
                Export.status.in_(_active),  # type: ignore[attr-defined]
                (Export.status == ExportStatus.DONE.value)  # type: ignore[arg-type]
                & (Export.finished_at >= recent)  # type: ignore[arg-type,operator]
                & Export.object_key.is_not(None),  # type: ignore[union-attr]  # not withdrawn
            ),
        )
        .order_by(Export.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


async def export_queue(
    session: AsyncSession,
    *,
    event_id: int,
    format: ExportFormat,
    requested_by: int | None,
    now: datetime | None = None,
) -> Export:
    """Queue an export, unless the same one is queued, running or just done: then that one.

    Race-safe: at most one queued or running export per event and format is a partial unique
    index, so of two concurrent inserts one does nothing and reads the other's row.
    """
    now = now or utcnow()
    existing = await _same_request(session, event_id=event_id, format=format, now=now)
    if existing is not None:
        return existing
    insert: Any = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    values = {
        "event_id": event_id, "format": format.value, "status": ExportStatus.QUEUED.value,
        "progress": 0, "requested_by": requested_by, "attempts": 0, "next_attempt_at": now,
        "created_at": now,
    }  # fmt: skip
    export_id = await session.scalar(
        insert(_exports)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_id", "format"], index_where=ACTIVE_ONLY)
        .returning(_exports.c.id)
    )
    if export_id is None:  # a concurrent request queued it first (its commit is what we waited for)
        existing = await _same_request(session, event_id=event_id, format=format, now=now)
        if existing is None:  # and it failed at once: try again from the start
            raise Retry()
        return existing
    _kick_after_commit(session, export_id)
    export = await session.get(Export, export_id)
    assert export is not None
    return export


async def export_request(
    session: AsyncSession, *, event_id: int, format: ExportFormat, user: User
) -> Export:
    """Organizer: an export of the event (or the same one asked for within the last minute)."""
    await event_managed(session, event_id=event_id, user=user)
    return await export_queue(session, event_id=event_id, format=format, requested_by=user.id)


async def export_get(session: AsyncSession, *, export_id: int, user: User) -> Export:
    """The export if `user` manages its event: 404 when unknown, 403 when not theirs."""
    export = await session.get(Export, export_id)
    if export is None:
        raise NotFound(f"Export {export_id} does not exist.", code="export_not_found")
    await event_managed(session, event_id=export.event_id, user=user)
    return export


async def exports_of_event(session: AsyncSession, *, event_id: int, user: User) -> list[Export]:
    """The event's exports, newest first (organizer only)."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.scalars(
        select(Export)
        .where(Export.event_id == event_id)  # type: ignore[arg-type]
        .order_by(Export.created_at.desc(), Export.id.desc())  # type: ignore[attr-defined,union-attr]
        .limit(LIST_LIMIT)
    )
    return list(rows)


async def newest_image(session: AsyncSession, *, event_id: int) -> Export | None:
    """The event's newest finished roster image."""
    return await session.scalar(
        select(Export)
        .where(
            Export.event_id == event_id,  # type: ignore[arg-type]
            Export.format == ExportFormat.PNG.value,  # type: ignore[arg-type]
            Export.status == ExportStatus.DONE.value,  # type: ignore[arg-type]
        )
        .order_by(Export.finished_at.desc(), Export.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )


def download_name(export: Export) -> str:
    kind = ExportFormat(export.format)
    return f"event-{export.event_id}-{NAMES[kind]}-{export.id}.{EXTENSIONS[kind]}"


def download_url(export: Export, storage: Storage) -> str | None:
    if export.status != ExportStatus.DONE or export.object_key is None:
        return None
    kind = ExportFormat(export.format)
    return storage.download_url(
        export.object_key, filename=download_name(export), content_type=CONTENT_TYPES[kind]
    )


def export_out(export: Export, storage: Storage) -> ExportOut:
    return ExportOut(
        id=export.id or 0,
        event_id=export.event_id,
        format=ExportFormat(export.format),
        status=ExportStatus(export.status),
        progress=export.progress,
        url=download_url(export, storage),
        error=export.error,
        created_at=export.created_at,
        finished_at=export.finished_at,
    )
