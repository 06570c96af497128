"""The jobs themselves, the same whether a Celery worker or the web process runs them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from skyslots.calendars.cache import warm_event_calendars
from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.discord.triggers import summaries_due
from skyslots.exports.images import roster_images_due
from skyslots.exports.run import exports_due
from skyslots.exports.withdraw import unreferenced_files_delete
from skyslots.holds.sweep import sweep_once
from skyslots.idempotency.store import purge_expired as purge_expired_keys
from skyslots.models.outbox import DeliveryStatus
from skyslots.outbox.relay import Sender, deliver
from skyslots.privacy.retention import retention_purge
from skyslots.reminders.due import reminders_due
from skyslots.storage.base import Storage
from skyslots.storage.cleanup import clean_storage

log = logging.getLogger(__name__)


async def deliver_outbox(
    db: Database,
    settings: Settings,
    senders: Mapping[str, Sender],
    ids: Sequence[int] | None = None,
) -> dict[DeliveryStatus, int]:
    """Deliver the due outbox rows (those of `ids`, or every due one)."""
    counts = await deliver(
        db,
        senders,
        lease_seconds=settings.outbox_lease_seconds,
        max_attempts=settings.outbox_max_attempts,
        ids=ids,
    )
    if any(counts.values()):
        log.info("outbox: %s", ", ".join(f"{n} {s.value}" for s, n in counts.items() if n))
    return counts


async def sweep_holds(db: Database) -> int:
    """End the holds and offers whose time ran out (their slots pass on)."""
    ended = await sweep_once(db)
    if ended:
        log.info("sweep: %d holds or offers expired", ended)
    return ended


async def queue_reminders(db: Database) -> int:
    """Write the outbox rows of the reminders due now (the relay then mails them)."""
    queued = await db.transaction(reminders_due)
    queued += await db.transaction(summaries_due, now=utcnow())
    if queued:
        log.info("reminders: %d queued", queued)
    return queued


async def clean_old_artifacts(db: Database, storage: Storage, settings: Settings) -> int:
    """Delete stored objects superseded by a newer one of the same artifact, and export files
    no export points to (withdrawn ones whose deletion was lost, lost leases' files)."""
    grace = settings.presign_seconds
    superseded = await clean_storage(storage, grace_seconds=grace)
    return superseded + await unreferenced_files_delete(db, storage, grace_seconds=grace)


async def warm_artifacts(
    db: Database, storage: Storage, settings: Settings, event_ids: Sequence[int]
) -> int:
    """After roster changes: store these events' current calendars (a request would otherwise
    make them on first use)."""
    return await warm_event_calendars(
        db, storage, event_ids=event_ids, public_url=settings.public_url
    )


async def exports_to_run(db: Database, settings: Settings) -> list[int]:
    """The exports to run now: lost kicks, due retries, dead workers' (exports.run.exports_due),
    and the roster images that are due after roster changes."""
    ids = await db.transaction(exports_due, max_attempts=settings.export_max_attempts)
    images = await db.transaction(
        roster_images_due, debounce_seconds=settings.roster_image_seconds, now=utcnow()
    )
    return [*ids, *images]


async def purge_retention(db: Database, settings: Settings, *, now: datetime | None = None) -> int:
    """Purge the emails and notes of events that ended SKYSLOTS_RETENTION_DAYS ago (as of `now`),
    and idempotency keys past their 24 h; how many events were purged. One transaction per
    batch of events."""
    now = now or utcnow()
    await purge_expired_keys(db, now=now)
    purged = 0
    while batch := await db.transaction(retention_purge, days=settings.retention_days, now=now):
        purged += batch
    if purged:
        log.info("retention: personal data of %d ended events purged", purged)
    return purged
