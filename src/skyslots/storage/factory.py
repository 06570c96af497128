"""Which storage a process uses, made once at its start (the app's lifespan, a worker)."""

from __future__ import annotations

import asyncio
import logging

from skyslots.config import Settings
from skyslots.storage.base import Storage, StorageUnavailable
from skyslots.storage.local import LocalStorage
from skyslots.storage.s3 import S3Storage

log = logging.getLogger(__name__)
READY_TIMEOUT = 10.0


def storage_for(settings: Settings) -> Storage:
    """S3 when SKYSLOTS_S3_ENDPOINT_URL is set, else the folder `<data dir>/files`."""
    if settings.s3_endpoint_url:
        return S3Storage(settings)
    return LocalStorage(
        settings.data_dir / "files",
        secret=settings.secret_key,
        public_url=settings.public_url,
        presign_seconds=settings.presign_seconds,
    )


async def prepare(storage: Storage) -> bool:
    """Create the bucket or folder; storage that is down only logs a warning (bookings go on,
    and the next use tries again)."""
    try:
        await asyncio.wait_for(storage.ensure_ready(), READY_TIMEOUT)
    except (StorageUnavailable, TimeoutError) as exc:
        log.warning("storage is not available yet (%s); artifacts will wait for it", exc)
        return False
    return True
