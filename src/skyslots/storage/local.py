"""The embedded default: objects as files under `<data dir>/files`, served by the app at
/files/... (storage.files) behind signed, expiring URLs."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from skyslots.storage.base import StorageUnavailable, StoredObject
from skyslots.storage.keys import INCOMING, checked_key, deletable_key
from skyslots.storage.signing import signed_url

T = TypeVar("T")
CHUNK = 64 * 1024


class LocalStorage:
    """A folder; a put writes a temporary file and renames it, so readers see all or nothing."""

    def __init__(self, root: Path, *, secret: str, public_url: str, presign_seconds: float) -> None:
        self.root = root.resolve()
        self.secret = secret
        self._public_url = public_url.rstrip("/")
        self._presign_seconds = presign_seconds

    def path_of(self, key: str) -> Path:
        return self.root / checked_key(key)

    async def _io(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except OSError as exc:
            raise StorageUnavailable(f"storage folder {self.root}: {exc}") from exc

    async def ensure_ready(self) -> None:
        await self._io(lambda: (self.root / INCOMING).mkdir(parents=True, exist_ok=True))

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        final = self.path_of(key)

        def write() -> None:
            incoming = self.root / INCOMING
            incoming.mkdir(parents=True, exist_ok=True)
            temporary = incoming / uuid.uuid4().hex
            try:
                with temporary.open("wb") as file:
                    file.write(data)
                    file.flush()
                    os.fsync(file.fileno())
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, final)  # atomic on one file system
            finally:
                temporary.unlink(missing_ok=True)

        await self._io(write)

    async def get(self, key: str) -> bytes | None:
        path = self.path_of(key)

        def read() -> bytes | None:
            try:
                return path.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None

        return await self._io(read)

    async def exists(self, key: str) -> bool:
        path = self.path_of(key)
        return await self._io(path.is_file)

    async def delete(self, keys: Sequence[str]) -> None:
        paths = [self.root / deletable_key(key) for key in keys]

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        await self._io(remove)

    async def list(self, prefix: str) -> list[StoredObject]:
        return await self._io(lambda: self._list(prefix))

    def _list(self, prefix: str) -> list[StoredObject]:
        # Walk only the deepest folder the prefix names, not the whole tree.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = self.root / folder if folder else self.root
        hidden = prefix.startswith(INCOMING)  # uploads in progress only when asked for
        found: list[StoredObject] = []
        for directory, subdirectories, files in os.walk(top):
            here = Path(directory)
            if here == self.root:
                subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
            for name in files:
                path = here / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix) or (key.startswith(INCOMING) and not hidden):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                found.append(StoredObject(key=key, size=stat.st_size, modified=modified))
        return sorted(found, key=lambda o: o.key)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise  # no such object, as on S3: not the storage failing
        except OSError as exc:
            raise StorageUnavailable(f"storage folder {self.root}: {exc}") from exc
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK):
                yield chunk
        finally:
            file.close()

    def download_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        expires_seconds: float | None = None,
    ) -> str:
        return signed_url(
            self._public_url,
            self.secret,
            checked_key(key),
            lifetime=expires_seconds if expires_seconds is not None else self._presign_seconds,
            filename=filename,
            content_type=content_type,
        )
