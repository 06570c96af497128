"""The Celery app: Redis as broker, tasks that take ids and are safe to run twice.

Nothing waits in the broker for long: due work is found in the database by beat's periodic tasks,
so a lost or redelivered message costs at most a few seconds (docs/jobs.md).
"""

from __future__ import annotations

from celery import Celery

from skyslots.config import get_settings
from skyslots.jobs.schedule import (
    CLEAN_STORAGE_SECONDS,
    CLEAN_STORAGE_TASK,
    RELAY_EXPORTS_TASK,
    RELAY_TASK,
    REMINDERS_TASK,
    RETENTION_SECONDS,
    RETENTION_TASK,
    SWEEP_SECONDS,
    SWEEP_TASK,
)


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("skyslots", broker=settings.celery_broker_url or "redis://127.0.0.1:6379/0")
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-task leaves the message to be redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # Beat's tasks are worthless once the next one is due: let a backlog expire.
        beat_schedule={
            "relay-outbox": {
                "task": RELAY_TASK,
                "schedule": settings.outbox_poll_seconds,
                "options": {"expires": settings.outbox_poll_seconds * 2},
            },
            "queue-reminders": {
                "task": REMINDERS_TASK,
                "schedule": settings.reminder_poll_seconds,
                "options": {"expires": settings.reminder_poll_seconds * 2},
            },
            "sweep-holds": {
                "task": SWEEP_TASK,
                "schedule": SWEEP_SECONDS,
                "options": {"expires": SWEEP_SECONDS * 2},
            },
            "relay-exports": {
                "task": RELAY_EXPORTS_TASK,
                "schedule": settings.outbox_poll_seconds,
                "options": {"expires": settings.outbox_poll_seconds * 2},
            },
            "clean-storage": {
                "task": CLEAN_STORAGE_TASK,
                "schedule": CLEAN_STORAGE_SECONDS,
                "options": {"expires": CLEAN_STORAGE_SECONDS},
            },
            "purge-retention": {
                "task": RETENTION_TASK,
                "schedule": RETENTION_SECONDS,
                "options": {"expires": RETENTION_SECONDS},
            },
        },
        imports=["skyslots.jobs.tasks"],
        worker_hijack_root_logger=False,
    )
    return app


celery = make_celery()
# Logging, metrics and the heartbeat of the Celery processes (their signal handlers).
import skyslots.jobs.observed  # noqa: E402, F401
