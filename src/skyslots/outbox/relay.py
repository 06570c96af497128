"""The relay: lease due outbox rows, deliver them outside any transaction, record the outcome.

A lease moves a row's next attempt `lease_seconds` ahead and counts the attempt, in a short
transaction (PostgreSQL skips rows another worker is leasing: FOR UPDATE SKIP LOCKED). A worker
that dies mid-delivery leaves the row to be leased again once the lease runs out; a delivery that
succeeded but was not recorded is sent again then, which the dedupe key in it makes recognisable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Database, utcnow
from skyslots.features.service import feature_on
from skyslots.models import OutboxMessage
from skyslots.models.outbox import DeliveryStatus
from skyslots.outbox.retry import DeliveryFailed, DeliverySkipped, next_attempt
from skyslots.webhooks.fanout import KIND as WEBHOOK_KIND

log = logging.getLogger(__name__)
BATCH = 50
ERROR_CHARS = 500


@dataclass(frozen=True)
class Leased:
    """An outbox row taken for one delivery attempt."""

    id: int
    kind: str
    target: str
    payload: dict[str, Any]
    dedupe_key: str
    event_id: int | None
    attempts: int


Sender = Callable[[Leased], Awaitable[None]]


async def lease_due(
    session: AsyncSession,
    *,
    lease_seconds: float,
    ids: Sequence[int] | None = None,
    now: datetime | None = None,
    limit: int = BATCH,
) -> list[Leased]:
    """Take the due pending rows (those in `ids`, or the oldest due) for one attempt each."""
    now = now or utcnow()
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == DeliveryStatus.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    if not await feature_on(session, "webhooks"):  # queued calls wait for the flag, untouched
        query = query.where(OutboxMessage.kind != WEBHOOK_KIND)
    rows = list(await session.scalars(query))
    if not rows:
        return []
    leased_until = now + timedelta(seconds=lease_seconds)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([row.id for row in rows]))
        .values(next_attempt_at=leased_until, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return [
        Leased(
            id=row.id,  # type: ignore[arg-type]
            kind=row.kind,
            target=row.target,
            payload=dict(row.payload),
            dedupe_key=row.dedupe_key,
            event_id=row.event_id,
            attempts=row.attempts + 1,
        )
        for row in rows
    ]


async def record_outcome(
    session: AsyncSession,
    *,
    leased: Leased,
    error: DeliveryFailed | DeliverySkipped | None,
    max_attempts: int,
    now: datetime | None = None,
) -> DeliveryStatus:
    """Mark the row sent, due again later, or dead (out of attempts, or refused for good).

    Only a row still pending from this lease takes the outcome: one killed while its attempt
    ran (its person's data deleted, its webhook removed) stays dead, never due again. The
    status returned is the row's."""
    now = now or utcnow()
    values: dict[str, Any]
    if error is None or isinstance(error, DeliverySkipped):
        status = DeliveryStatus.SENT
        values = {"sent_at": now, "last_error": f"skipped: {error}" if error else None}
    else:
        dead = error.permanent or leased.attempts >= max_attempts
        status = DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING
        values = {"last_error": str(error)[:ERROR_CHARS]}
        if not dead:
            values["next_attempt_at"] = next_attempt(
                now, leased.attempts, retry_after=error.retry_after
            )
    recorded = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == leased.id,
            OutboxMessage.attempts == leased.attempts,
            OutboxMessage.status == DeliveryStatus.PENDING.value,
        )
        .values(status=status.value, **values)
        .execution_options(synchronize_session=False)
    )
    if recorded.rowcount == 1:  # type: ignore[attr-defined]
        return status
    current = await session.scalar(
        select(OutboxMessage.status).where(OutboxMessage.id == leased.id)
    )
    return DeliveryStatus(current) if current else DeliveryStatus.DEAD


async def _attempt(
    sender: Sender | None, leased: Leased
) -> DeliveryFailed | DeliverySkipped | None:
    if sender is None:
        return DeliveryFailed(f"nothing delivers {leased.kind!r} messages", permanent=True)
    try:
        await sender(leased)
    except (DeliveryFailed, DeliverySkipped) as outcome:
        return outcome
    except Exception as exc:  # a sender's bug or an unexpected error: retried, not fatal
        # Not log.exception: the error text may hold the recipient's address.
        log.error("outbox %s (%s) failed: %s", leased.id, leased.kind, type(exc).__name__)
        return DeliveryFailed(f"{type(exc).__name__}: {exc}")
    return None


async def deliver(
    db: Database,
    senders: Mapping[str, Sender],
    *,
    lease_seconds: float,
    max_attempts: int,
    ids: Sequence[int] | None = None,
) -> dict[DeliveryStatus, int]:
    """Deliver what is due (or the due rows among `ids`); counts of the outcomes."""
    counts = dict.fromkeys(DeliveryStatus, 0)
    leased = await db.transaction(lease_due, lease_seconds=lease_seconds, ids=ids)
    for item in leased:
        error = await _attempt(senders.get(item.kind), item)
        status = await db.transaction(
            record_outcome, leased=item, error=error, max_attempts=max_attempts
        )
        counts[status] += 1
        if isinstance(error, DeliveryFailed):
            log.warning(
                "outbox %s (%s) attempt %s: %s", item.id, item.kind, item.attempts, status.value
            )
    return counts
