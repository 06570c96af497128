"""The web process's side of the jobs: ask Celery for a delivery after each commit that wrote
outbox rows, or, without a broker (the embedded default), run every job in-process on the same
schedule as beat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from structlog.contextvars import bound_contextvars

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.exports.runner import ExportRunner
from skyslots.exports.service import EXPORT_KICK_KEY
from skyslots.jobs import heartbeat
from skyslots.jobs.kick import KICK_KEY
from skyslots.jobs.schedule import (
    CLEAN_STORAGE_SECONDS,
    CLEAN_STORAGE_TASK,
    DELIVER_TASK,
    RELAY_TASK,
    REMINDERS_TASK,
    RETENTION_SECONDS,
    RETENTION_TASK,
    RUN_EXPORT_TASK,
    SWEEP_SECONDS,
    SWEEP_TASK,
)
from skyslots.jobs.stopping import cancel_all
from skyslots.jobs.work import (
    clean_old_artifacts,
    deliver_outbox,
    purge_retention,
    queue_reminders,
    sweep_holds,
)
from skyslots.metrics import task_timed
from skyslots.outbox.senders import senders
from skyslots.storage.base import Storage

log = logging.getLogger(__name__)
KICK_BATCH_SECONDS = 0.02
KICK_BATCH_MAX = 200
# Not at start-up, with the migrations and the first requests: a minute later, then hourly.
RETENTION_FIRST_AFTER_SECONDS = 60.0


async def _every(
    name: str,
    seconds: float,
    job: Callable[[], Awaitable[object]],
    wake: asyncio.Event,
    first_after: float = 0.0,
) -> None:
    await asyncio.sleep(first_after)
    while True:
        try:
            with task_timed(name), bound_contextvars(task=name):
                await job()
        except Exception:
            log.exception("background job failed; trying again in %.0f s", seconds)
        heartbeat.in_process.beat()  # /health/ready: the loop goes round
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
        # arrives as its timeout fires, and the lifespan's shutdown then waits for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await wake.wait()
        wake.clear()


@asynccontextmanager
async def _in_process(
    settings: Settings, db: Database, storage: Storage | None
) -> AsyncIterator[None]:
    sends = senders(db, settings)
    outbox_due, never = asyncio.Event(), asyncio.Event()

    async def kick(ids: Sequence[int]) -> None:
        outbox_due.set()

    tasks = [
        asyncio.create_task(
            _every(
                RELAY_TASK,
                settings.outbox_poll_seconds,
                lambda: deliver_outbox(db, settings, sends),
                outbox_due,
            )
        ),
        asyncio.create_task(_every(SWEEP_TASK, SWEEP_SECONDS, lambda: sweep_holds(db), never)),
        asyncio.create_task(
            _every(
                REMINDERS_TASK, settings.reminder_poll_seconds, lambda: queue_reminders(db), never
            )
        ),
        asyncio.create_task(
            _every(
                RETENTION_TASK,
                RETENTION_SECONDS,
                lambda: purge_retention(db, settings),
                never,
                first_after=RETENTION_FIRST_AFTER_SECONDS,
            )
        ),
    ]
    runner: ExportRunner | None = None
    relay: asyncio.Task[None] | None = None
    if storage is not None:
        clean = lambda: clean_old_artifacts(db, storage, settings)  # noqa: E731
        cleaning = _every(CLEAN_STORAGE_TASK, CLEAN_STORAGE_SECONDS, clean, never)
        tasks.append(asyncio.create_task(cleaning))
        runner = ExportRunner(db, storage, settings)
        relay = asyncio.create_task(runner.relay(settings.outbox_poll_seconds))
    db.share_with_sessions(**{KICK_KEY: kick, EXPORT_KICK_KEY: runner.kick if runner else None})
    try:
        yield
    finally:
        db.share_with_sessions(**{KICK_KEY: None, EXPORT_KICK_KEY: None})
        if runner is not None:
            await runner.close(relay)
        await cancel_all(tasks)


@asynccontextmanager
async def _on_celery(db: Database) -> AsyncIterator[None]:
    from skyslots.jobs.celery_app import celery  # only with a broker: it reads the settings

    pending: list[int] = []
    due = asyncio.Event()

    def send(ids: list[int]) -> None:
        celery.send_task(DELIVER_TASK, args=[ids], retry=False)

    async def batches() -> None:
        """One task per KICK_BATCH_SECONDS for every row committed meanwhile: a booking rush
        costs the broker a message per batch, not per booking."""
        while True:
            await due.wait()
            await asyncio.sleep(KICK_BATCH_SECONDS)
            due.clear()
            ids, pending[:] = pending[:KICK_BATCH_MAX], pending[KICK_BATCH_MAX:]
            if pending:
                due.set()
            try:
                await asyncio.wait_for(asyncio.to_thread(send, ids), timeout=2.0)
            except Exception as exc:  # beat's relay delivers the rows anyway
                log.warning(
                    "could not queue outbox delivery (%s); the relay will", type(exc).__name__
                )

    async def kick(ids: Sequence[int]) -> None:
        pending.extend(ids)  # the response does not wait for Redis
        due.set()

    async def kick_export(export_id: int) -> None:
        def send_export() -> None:
            celery.send_task(RUN_EXPORT_TASK, args=[export_id], retry=False)

        try:
            await asyncio.wait_for(asyncio.to_thread(send_export), timeout=2.0)
        except Exception as exc:  # beat's relay runs it anyway
            log.warning("could not queue export %d (%s); the relay will", export_id,
                        type(exc).__name__)  # fmt: skip

    sender = asyncio.create_task(batches())
    db.share_with_sessions(**{KICK_KEY: kick, EXPORT_KICK_KEY: kick_export})
    try:
        yield
    finally:
        db.share_with_sessions(**{KICK_KEY: None, EXPORT_KICK_KEY: None})
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)


def jobs_running(
    settings: Settings, db: Database, storage: Storage | None = None
) -> contextlib.AbstractAsyncContextManager[None]:
    """For the app's lifespan: in-process jobs, or kicks to the Celery workers."""
    if settings.runs_jobs_in_process:
        return _in_process(settings, db, storage)
    if settings.celery_broker_url is None:  # jobs switched off: nothing is delivered here
        log.warning("background jobs are off (SKYSLOTS_JOBS_IN_PROCESS=false and no broker)")
        return contextlib.nullcontext()
    return _on_celery(db)
