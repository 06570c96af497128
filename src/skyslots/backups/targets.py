"""Where backups go: a folder (SKYSLOTS_BACKUP_DIR) or the object storage of the exports
(SKYSLOTS_S3_* or the local storage folder), under `backups/`. Both only list and delete names
of backups (naming.parse_name)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from skyslots.backups.errors import BackupError
from skyslots.backups.naming import parse_name
from skyslots.storage.base import Storage, StorageUnavailable
from skyslots.storage.keys import BACKUPS

CHUNK = 1024 * 1024
T = TypeVar("T")


@dataclass(frozen=True)
class StoredBackup:
    name: str
    size: int


class Target(Protocol):
    def location(self, name: str) -> str:
        """Where the backup `name` is, as printed."""

    async def put(self, source: Path, name: str) -> None:
        """Store the file `source` as `name`, all or nothing."""

    async def list(self) -> list[StoredBackup]:
        """The backups there (names of another shape are left out)."""

    async def delete(self, names: list[str]) -> None: ...

    async def fetch(self, name: str, destination: Path) -> bool:
        """Copy the backup `name` to `destination`; False when there is none."""


class FolderTarget:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def location(self, name: str) -> str:
        return str(self.folder / name)

    async def put(self, source: Path, name: str) -> None:
        def copy() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f".{name}.partial"
            try:
                with source.open("rb") as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(partial, self.folder / name)  # atomic on one file system
            finally:
                partial.unlink(missing_ok=True)

        await asyncio.to_thread(copy)

    async def list(self) -> list[StoredBackup]:
        def scan() -> list[StoredBackup]:
            if not self.folder.is_dir():
                return []
            return [
                StoredBackup(path.name, path.stat().st_size)
                for path in sorted(self.folder.iterdir())
                if path.is_file() and parse_name(path.name)
            ]

        return await asyncio.to_thread(scan)

    async def delete(self, names: list[str]) -> None:
        for name in names:
            if parse_name(name) is None:  # never anything but a backup
                raise ValueError(f"not a backup name: {name!r}")
            await asyncio.to_thread((self.folder / name).unlink, missing_ok=True)

    async def fetch(self, name: str, destination: Path) -> bool:
        path = self.folder / name
        if parse_name(name) is None or not path.is_file():
            return False
        await asyncio.to_thread(shutil.copyfile, path, destination)
        return True


class StorageTarget:
    """The exports' object storage; keys `backups/<name>`. The storage cleanup skips that
    prefix: only the retention here deletes backups."""

    def __init__(self, storage: Storage, where: str) -> None:
        self.storage = storage
        self.where = where

    def location(self, name: str) -> str:
        return f"{self.where}/{BACKUPS}{name}"

    async def put(self, source: Path, name: str) -> None:
        data = await asyncio.to_thread(source.read_bytes)
        await self._storage(self.storage.put(f"{BACKUPS}{name}", data, content_type=_type(name)))

    async def list(self) -> list[StoredBackup]:
        found = await self._storage(self.storage.list(BACKUPS))
        names = [(o.key.removeprefix(BACKUPS), o.size) for o in found]
        return [StoredBackup(name, size) for name, size in names if parse_name(name)]

    async def delete(self, names: list[str]) -> None:
        if any(parse_name(name) is None for name in names):
            raise ValueError(f"not backup names: {names!r}")
        if names:
            await self._storage(self.storage.delete([f"{BACKUPS}{n}" for n in names]))

    async def fetch(self, name: str, destination: Path) -> bool:
        if parse_name(name) is None:
            return False
        key = f"{BACKUPS}{name}"
        if not await self._storage(self.storage.exists(key)):
            return False
        try:
            with destination.open("wb") as file:
                async for chunk in self.storage.stream(key):
                    await asyncio.to_thread(file.write, chunk)
        except StorageUnavailable as exc:
            raise BackupError(f"storage: {exc}") from exc
        return True

    async def _storage(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except StorageUnavailable as exc:
            raise BackupError(f"storage: {exc}") from exc


def _type(name: str) -> str:
    return "application/vnd.sqlite3" if name.endswith(".sqlite3") else "application/octet-stream"
