"""The work of `skyslots backup` and `skyslots restore`: dump, store, prune; fetch, check,
load. Redis is not backed up: nothing a restore needs lives there (the outbox is a table)."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from skyslots.backups import postgres, sqlite
from skyslots.backups.errors import BackupError
from skyslots.backups.naming import KIND_WORDS, Kind, backup_name, kind_of_file, parse_name
from skyslots.backups.retention import backups_to_delete
from skyslots.backups.targets import FolderTarget, StorageTarget, StoredBackup, Target
from skyslots.config import Settings
from skyslots.db import utcnow
from skyslots.storage.factory import storage_for
from skyslots.storage.keys import BACKUPS

log = logging.getLogger(__name__)


def name_kind(name: str) -> Kind | None:
    parsed = parse_name(name)
    return parsed.kind if parsed else None


@dataclass(frozen=True)
class BackupResult:
    name: str
    location: str
    size: int
    deleted: list[str]


@dataclass(frozen=True)
class RestoreResult:
    kind: Kind
    source: str
    revision: str | None
    dropped: list[str] = field(default_factory=list)


def database_kind(settings: Settings) -> Kind:
    return "sqlite" if settings.is_sqlite else "postgresql"


def backup_target(settings: Settings) -> Target:
    """The folder, or the storage the exports use (S3 when configured, else its folder)."""
    if settings.backup_target == "storage":
        where = (
            f"s3://{settings.s3_bucket}"
            if settings.s3_endpoint_url
            else str(settings.data_dir / "files")
        )
        return StorageTarget(storage_for(settings), where)
    return FolderTarget(settings.backup_folder)


async def _dump(settings: Settings, destination: Path) -> None:
    if settings.is_sqlite:
        await sqlite.dump(
            settings.database_url, destination, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    else:
        await postgres.dump(settings.database_url, destination, bin_dir=settings.backup_pg_bin)


async def backup_run(settings: Settings, *, now: datetime | None = None) -> BackupResult:
    """Back the database up to the target under a name by time, then delete the backups the
    retention policy no longer keeps."""
    now = now or utcnow()
    kind = database_kind(settings)
    name = backup_name(kind, now)
    target = backup_target(settings)
    with tempfile.TemporaryDirectory(prefix="skyslots-backup-") as folder:
        dumped = Path(folder) / name
        await _dump(settings, dumped)
        size = (await asyncio.to_thread(dumped.stat)).st_size
        await target.put(dumped, name)
    log.info("backup: %s written (%d bytes)", target.location(name), size)
    # Only this engine's backups: another engine's (a folder shared, a move from SQLite) stay.
    present = [b.name for b in await target.list() if name_kind(b.name) == kind]
    doomed = backups_to_delete(
        present,
        now=now,
        keep_daily=settings.backup_keep_daily,
        keep_weekly=settings.backup_keep_weekly,
    )
    doomed = [n for n in doomed if n != name]  # the backup just taken always stays
    await target.delete(doomed)
    if doomed:
        log.info("backup: retention deleted %d old backups", len(doomed))
    return BackupResult(name=name, location=target.location(name), size=size, deleted=doomed)


async def backups_list(settings: Settings) -> list[StoredBackup]:
    """The backups in the target, oldest first."""
    found = await backup_target(settings).list()
    return sorted(found, key=lambda b: (parse_name(b.name).taken_at, b.name))  # type: ignore[union-attr]


async def _objects(settings: Settings) -> list[str]:
    if settings.is_sqlite:
        return await sqlite.database_objects(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
    return await postgres.database_objects(settings.database_url)


def _refuse_non_empty(objects: list[str]) -> BackupError:
    shown = ", ".join(objects[:5]) + (f" and {len(objects) - 5} more" if len(objects) > 5 else "")
    return BackupError(
        f"the database is not empty ({shown}); restore loads only into an empty database —"
        " use --force to drop everything in it first"
    )


async def _restore_from(
    settings: Settings, path: Path, source: str, *, force: bool
) -> RestoreResult:
    kind = database_kind(settings)
    found = await asyncio.to_thread(kind_of_file, path)
    if found is None:
        raise BackupError(
            f"{source} is not a SkySlots backup: neither a PostgreSQL custom-format dump nor a"
            " SQLite database"
        )
    if found != kind:
        raise BackupError(
            f"{source} is {KIND_WORDS[found]}, but SKYSLOTS_DATABASE_URL is a {kind} database;"
            " restore into the engine the backup came from (converting between engines is not"
            " supported)"
        )
    if kind == "postgresql":
        await postgres.check_archive(path, bin_dir=settings.backup_pg_bin)
    objects = await _objects(settings)
    dropped: list[str] = []
    if objects and not force:
        raise _refuse_non_empty(objects)
    if kind == "postgresql":
        if objects:
            dropped = await postgres.clean(settings.database_url)
            log.warning("restore --force: dropped %d objects before loading", len(dropped))
        await postgres.restore(settings.database_url, path, bin_dir=settings.backup_pg_bin)
        revision = await postgres.revision(settings.database_url)
    else:
        # The backup API replaces every page of the target: what was there is gone.
        dropped = objects
        await sqlite.restore(
            settings.database_url, path, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        revision = await sqlite.revision(settings.database_url)
    return RestoreResult(kind=kind, source=source, revision=revision, dropped=dropped)


async def restore_run(settings: Settings, source: str, *, force: bool = False) -> RestoreResult:
    """Restore a backup file (a path), or a backup in the target by its name or storage key,
    into the database; a non-empty database is refused unless `force`."""
    path = Path(source)
    if await asyncio.to_thread(path.is_file):
        return await _restore_from(settings, path, source, force=force)
    name = source.removeprefix(BACKUPS)  # a storage key, or a backup's name
    target = backup_target(settings)
    with tempfile.TemporaryDirectory(prefix="skyslots-restore-") as folder:
        fetched = Path(folder) / "backup"
        if not await target.fetch(name, fetched):
            raise BackupError(
                f"no backup {source!r}: neither a file nor a backup in {target.location('')}"
            )
        return await _restore_from(settings, fetched, target.location(name), force=force)
