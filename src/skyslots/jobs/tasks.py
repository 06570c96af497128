"""Celery tasks: thin shells over jobs.work, run on the worker process's own event loop."""

from __future__ import annotations

from celery.signals import worker_process_shutdown

from skyslots.jobs.celery_app import celery
from skyslots.jobs.runtime import WorkerRuntime, runtime, shutdown
from skyslots.jobs.schedule import (
    DELIVER_TASK,
    RELAY_TASK,
    REMINDERS_TASK,
    RETENTION_TASK,
    SWEEP_TASK,
)
from skyslots.jobs.work import deliver_outbox, purge_retention, queue_reminders, sweep_holds

worker_process_shutdown.connect(shutdown)


@celery.task(name=DELIVER_TASK)
def deliver_outbox_task(ids: list[int]) -> int:
    """Deliver these outbox rows now (rows already sent or leased elsewhere are skipped)."""

    async def job(rt: WorkerRuntime) -> int:
        counts = await deliver_outbox(rt.db, rt.settings, rt.senders, ids=ids)
        return sum(counts.values())

    return runtime().run(job)


@celery.task(name=RELAY_TASK)
def relay_outbox_task() -> int:
    """Beat: deliver whatever is due (new rows whose kick was lost, retries)."""

    async def job(rt: WorkerRuntime) -> int:
        counts = await deliver_outbox(rt.db, rt.settings, rt.senders)
        return sum(counts.values())

    return runtime().run(job)


@celery.task(name=SWEEP_TASK)
def sweep_holds_task() -> int:
    """Beat: end the holds and offers that ran out."""
    return runtime().run(lambda rt: sweep_holds(rt.db))


@celery.task(name=REMINDERS_TASK)
def queue_reminders_task() -> int:
    """Beat: write the reminders due now to the outbox."""
    return runtime().run(lambda rt: queue_reminders(rt.db))


@celery.task(name=RETENTION_TASK)
def purge_retention_task() -> int:
    """Beat, hourly: purge the personal data of events past their retention."""
    return runtime().run(lambda rt: purge_retention(rt.db, rt.settings))
