"""GET /metrics: Prometheus' text format, one view of every server process.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by `skyslots serve`) each scrape reads every
process's files; the outbox gauges are read from the database at scrape time. With
SKYSLOTS_METRICS_TOKEN set, a scrape needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import utcnow
from skyslots.errors import Unauthorized
from skyslots.metrics import metrics
from skyslots.metrics.multiproc import MULTIPROC_ENV, forget_dead_processes
from skyslots.models.outbox import DeliveryStatus, OutboxMessage

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class OutboxState:
    due: int
    oldest_due_at: datetime | None

    def age_seconds(self, now: datetime) -> float:
        if self.oldest_due_at is None:
            return 0.0
        oldest = self.oldest_due_at
        if oldest.tzinfo is None:  # SQLite hands back naive UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return max(0.0, (now - oldest).total_seconds())


async def outbox_state(session: AsyncSession, *, now: datetime) -> OutboxState:
    """Pending outbox rows that are due, and since when the longest-waiting one has been."""
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    row = (
        await session.execute(
            select(func.count(), func.min(outbox.c.next_attempt_at)).where(
                outbox.c.status == DeliveryStatus.PENDING.value,
                outbox.c.next_attempt_at <= now,
            )
        )
    ).one()
    return OutboxState(due=int(row[0] or 0), oldest_due_at=row[1])


class _OutboxCollector:
    """The outbox gauges, from a reading taken just before the scrape."""

    def __init__(self, state: OutboxState | None, now: datetime) -> None:
        self.state, self.now = state, now

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        if self.state is None:  # the database did not answer: no reading rather than a 0
            return
        yield GaugeMetricFamily(
            "skyslots_outbox_backlog", "Outbox rows due for delivery", value=self.state.due
        )
        yield GaugeMetricFamily(
            "skyslots_outbox_oldest_age_seconds",
            "How long the longest-waiting due outbox row has been due",
            value=self.state.age_seconds(self.now),
        )


def exposition(extra: object | None = None) -> tuple[bytes, str]:
    """Every process's metrics (and `extra`, a collector) in the text format."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    metrics()  # this process's series exist even before its first request
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        forget_dead_processes()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra is not None:
        own = CollectorRegistry()
        own.register(extra)  # type: ignore[arg-type]
        body += generate_latest(own)
    return body, CONTENT_TYPE_LATEST


def check_token(request: Request) -> None:
    expected: str | None = request.app.state.settings.metrics_token
    if expected is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise Unauthorized("/metrics needs its bearer token.", code="metrics_token")


@router.get("/metrics")
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus scrape (every server process in one view)."""
    check_token(request)
    now = utcnow()
    try:
        state = await request.app.state.database.read(outbox_state, now=now)
    except Exception as exc:  # the rest of the metrics are still worth having
        log.warning("metrics: outbox not readable (%s)", type(exc).__name__)
        state = None
    body, content_type = exposition(_OutboxCollector(state, now))
    return Response(body, media_type=content_type)
