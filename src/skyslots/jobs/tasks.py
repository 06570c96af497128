"""Celery tasks: thin shells over jobs.work, run on the worker process's own event loop."""

from __future__ import annotations

from celery.signals import worker_process_shutdown

from skyslots.exports.run import run_export
from skyslots.jobs.celery_app import celery
from skyslots.jobs.runtime import WorkerRuntime, runtime, shutdown
from skyslots.jobs.schedule import (
    CLEAN_STORAGE_TASK,
    DELIVER_TASK,
    RELAY_EXPORTS_TASK,
    RELAY_TASK,
    REMINDERS_TASK,
    RETENTION_TASK,
    RUN_EXPORT_TASK,
    SWEEP_TASK,
    WARM_TASK,
)
from skyslots.jobs.work import (
    clean_old_artifacts,
    deliver_outbox,
    exports_to_run,
    purge_retention,
    queue_reminders,
    sweep_holds,
    warm_artifacts,
)

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


@celery.task(name=CLEAN_STORAGE_TASK)
def clean_storage_task() -> int:
    """Beat: delete stored artifacts superseded by newer ones, and unreferenced export files."""
    return runtime().run(lambda rt: clean_old_artifacts(rt.db, rt.storage, rt.settings))


@celery.task(name=WARM_TASK)
def warm_artifacts_task(event_ids: list[int]) -> int:
    """After roster changes (debounced by the web process): store the events' calendars."""
    return runtime().run(lambda rt: warm_artifacts(rt.db, rt.storage, rt.settings, event_ids))


@celery.task(name=RUN_EXPORT_TASK)
def run_export_task(export_id: int) -> str:
    """Run one attempt of this export (one already done, or running elsewhere, is skipped)."""
    return runtime().run(lambda rt: run_export(rt.db, rt.storage, rt.settings, export_id))


@celery.task(name=RELAY_EXPORTS_TASK)
def relay_exports_task() -> int:
    """Beat: queue the exports due (lost messages, retries, dead workers, roster images)."""
    ids = runtime().run(lambda rt: exports_to_run(rt.db, rt.settings))
    for export_id in ids:
        celery.send_task(RUN_EXPORT_TASK, args=[export_id])
    return len(ids)


@celery.task(name=RETENTION_TASK)
def purge_retention_task() -> int:
    """Beat, hourly: purge the personal data of events past their retention."""
    return runtime().run(lambda rt: purge_retention(rt.db, rt.settings))
