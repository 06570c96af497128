"""SQLite backups with the online backup API (`sqlite3.Connection.backup`): a consistent copy
while the app keeps writing (in WAL mode a writer goes on while the copy reads its snapshot), and
a restore that replaces the target's content in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from skyslots.backups.errors import BackupError

PREFIX = "sqlite+aiosqlite:///"
OBJECTS = (
    "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    " AND type IN ('table', 'view', 'index', 'trigger')"
    " ORDER BY type <> 'table', type, name"
)


def database_path(database_url: str) -> Path:
    """The file of a `sqlite+aiosqlite:///path` URL."""
    path = database_url.removeprefix(PREFIX).split("?", 1)[0]
    if not path or ":memory:" in path or path.startswith("file:"):
        raise BackupError(f"only a SQLite file can be backed up or restored, not {database_url}")
    return Path(path)


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)


def _check(connection: sqlite3.Connection, what: str) -> None:
    [result] = connection.execute("PRAGMA quick_check").fetchone()
    if result != "ok":
        raise BackupError(f"{what} fails SQLite's quick_check: {result}")


def _backup(source: Path, destination: Path, busy_timeout_ms: int) -> None:
    if not source.is_file():
        raise BackupError(f"there is no SQLite database at {source}")
    with (
        contextlib.closing(_connect(source, busy_timeout_ms)) as src,
        contextlib.closing(_connect(destination, busy_timeout_ms)) as dst,
    ):
        # pages=-1: all pages in one step, from one read snapshot (a step-wise copy would
        # start over whenever another connection writes).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        _check(dst, "the backup")


async def dump(database_url: str, destination: Path, *, busy_timeout_ms: int) -> None:
    """A consistent copy of the database into `destination`, taken while others may write."""
    source = database_path(database_url)
    try:
        await asyncio.to_thread(_backup, source, destination, busy_timeout_ms)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from exc


def _objects(path: Path, busy_timeout_ms: int) -> list[str]:
    if not path.exists():
        return []
    try:
        with contextlib.closing(_connect(path, busy_timeout_ms)) as conn:
            return [f"{kind} {name}" for kind, name in conn.execute(OBJECTS)]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from exc


async def database_objects(database_url: str, *, busy_timeout_ms: int) -> list[str]:
    """The tables, views, indexes and triggers in the database: empty means a restore may load
    into it."""
    return await asyncio.to_thread(_objects, database_path(database_url), busy_timeout_ms)


def _restore(source: Path, target: Path, busy_timeout_ms: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(_connect(source, busy_timeout_ms)) as src:
        _check(src, f"the backup {source.name}")
        with contextlib.closing(_connect(target, busy_timeout_ms)) as dst:
            # The target's pages are replaced in one write transaction: readers see the old
            # content or the new, never a mix; a failure leaves the old.
            src.backup(dst, pages=-1)
            _check(dst, "the restored database")


async def restore(database_url: str, source: Path, *, busy_timeout_ms: int) -> None:
    """Replace the database's content with the backup's."""
    try:
        await asyncio.to_thread(_restore, source, database_path(database_url), busy_timeout_ms)
    except sqlite3.Error as exc:
        raise BackupError(f"restore failed: {exc}") from exc


def _revision(path: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None
    return row[0] if row else None


async def revision(database_url: str) -> str | None:
    """The restored database's Alembic revision (None without one)."""
    return await asyncio.to_thread(_revision, database_path(database_url))
