"""Generated artifacts (calendars, exports, roster images) in object storage: one interface with
two real back ends, S3-compatible (boto3) and a local folder served by the app at /files/...

Keys carry what the artifact depends on (e.g. the roster version), so a change never serves a
stale object; a cleanup task deletes the older ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class StorageUnavailable(Exception):
    """The storage could not be reached or refused the operation (a job retries later)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


class Storage(Protocol):
    async def ensure_ready(self) -> None:
        """Create the bucket (or the folder) when missing."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store `data` under `key`; readers never see a partial object (written under a
        temporary key, then moved)."""

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Delete these objects; missing ones are no error."""

    async def list(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with `prefix`."""

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks (for `?inline=1` downloads)."""

    def download_url(
        self,
        key: str,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        expires_seconds: float | None = None,
    ) -> str:
        """An expiring URL a browser can fetch the object from: S3's presigned URL (on the
        public endpoint), or the app's signed /files/... URL. Default lifetime
        SKYSLOTS_PRESIGN_SECONDS."""
