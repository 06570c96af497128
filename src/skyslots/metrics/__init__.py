"""Prometheus metrics (docs/operations.md "Observability"): what the code records, in one place.

prometheus-client decides between one process and multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by `skyslots serve` and `skyslots worker` before their processes start) when it is first
imported, so it is imported here on first use only, never at import time.

Recording never raises: a metric must not fail a booking.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import on_commit

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
# Refusals counted under their own code; other errors (404, 422, 429) are not a booking outcome.
REFUSAL_STATUSES = (403, 409)
HOLD_OUTCOMES = ("held", "refused", "released")


class Metrics:
    """The metric objects; made once per process by `metrics()`."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.http_duration = Histogram(
            "skyslots_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
        )
        self.bookings = Counter(
            "skyslots_bookings_total",
            "Booking attempts by outcome (claimed, refused) and refusal code",
            ["outcome", "code"],
        )
        self.holds = Counter("skyslots_holds_total", "Slot holds by outcome", ["outcome"])
        self.promotions = Counter(
            "skyslots_waitlist_promotions_total",
            "Freed slots offered to, or claimed for, the first person waiting",
        )
        self.websockets = Gauge(
            "skyslots_websocket_connections",
            "Open roster WebSockets",
            multiprocess_mode="livesum",
        )
        self.realtime_messages = Counter(
            "skyslots_realtime_messages_total", "Roster messages fanned out to sockets"
        )
        self.task_duration = Histogram(
            "skyslots_task_duration_seconds",
            "Background task durations (Celery tasks and in-process jobs)",
            ["task"],
            buckets=TASK_BUCKETS,
        )
        self.task_failures = Counter(
            "skyslots_task_failures_total", "Background tasks that failed", ["task"]
        )
        # Series that exist from the start, so dashboards and alerts see a 0, not "no data".
        self.bookings.labels(outcome="claimed", code="")
        for outcome in HOLD_OUTCOMES:
            self.holds.labels(outcome=outcome)
        from skyslots.jobs.schedule import TASK_NAMES

        for task in TASK_NAMES:
            self.task_failures.labels(task=task)


@cache
def metrics() -> Metrics:
    return Metrics()


def _safely(record: Any, *args: Any) -> None:
    try:
        record(*args)
    except Exception:  # a full disk under the multiprocess folder, say
        log.warning("could not record a metric", exc_info=True)


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    _safely(
        lambda: (
            metrics()
            .http_duration.labels(method=method, route=route, status=str(status))
            .observe(seconds)
        )
    )


def booking_outcome(code: str | None) -> None:
    """One booking attempt: claimed (`code` None) or refused with `code`."""
    outcome, label = ("claimed", "") if code is None else ("refused", code)
    _safely(lambda: metrics().bookings.labels(outcome=outcome, code=label).inc())


def hold_outcome(outcome: str) -> None:
    _safely(lambda: metrics().holds.labels(outcome=outcome).inc())


@contextlib.contextmanager
def counted(kind: str) -> Iterator[None]:
    """Count what the block does: `booking` (claimed, or refused with its 403/409 code) or
    `hold` (held or refused). Other errors pass uncounted."""
    from skyslots.errors import SkySlotsError

    try:
        yield
    except SkySlotsError as refusal:
        if refusal.status_code in REFUSAL_STATUSES:
            if kind == "booking":
                booking_outcome(refusal.code)
            else:
                hold_outcome("refused")
        raise
    if kind == "booking":
        booking_outcome(None)
    else:
        hold_outcome("held")


def promotion_after_commit(session: AsyncSession) -> None:
    """A waitlist promotion (or offer) in this unit of work: counted once it commits."""

    async def count() -> None:
        _safely(lambda: metrics().promotions.inc())

    on_commit(session, count)


def websocket_opened() -> None:
    _safely(lambda: metrics().websockets.inc())


def websocket_closed() -> None:
    _safely(lambda: metrics().websockets.dec())


def messages_fanned_out(count: int) -> None:
    if count:
        _safely(lambda: metrics().realtime_messages.inc(count))


def task_finished(task: str, seconds: float, *, failed: bool) -> None:
    def record() -> None:
        m = metrics()
        m.task_duration.labels(task=task).observe(seconds)
        if failed:
            m.task_failures.labels(task=task).inc()

    _safely(record)


@contextlib.contextmanager
def task_timed(task: str) -> Iterator[None]:
    """Time an in-process job; an exception counts as a failure (and goes on)."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        task_finished(task, time.perf_counter() - started, failed=True)
        raise
    task_finished(task, time.perf_counter() - started, failed=False)
