"""The jobs themselves, the same whether a Celery worker or the web process runs them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.discord.triggers import summaries_due
from skyslots.holds.sweep import sweep_once
from skyslots.models.outbox import DeliveryStatus
from skyslots.outbox.relay import Sender, deliver
from skyslots.privacy.retention import retention_purge
from skyslots.reminders.due import reminders_due

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


async def purge_retention(db: Database, settings: Settings, *, now: datetime | None = None) -> int:
    """Purge the emails and notes of events that ended SKYSLOTS_RETENTION_DAYS ago (as of `now`);
    how many events were purged. One transaction per batch of events."""
    now = now or utcnow()
    purged = 0
    while batch := await db.transaction(retention_purge, days=settings.retention_days, now=now):
        purged += batch
    if purged:
        log.info("retention: personal data of %d ended events purged", purged)
    return purged
