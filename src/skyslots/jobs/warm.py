"""After roster changes: regenerate the events' stored files, debounced so that a booking rush
costs one regeneration per event every WARM_DEBOUNCE_SECONDS, and nothing in the claim's
transaction (roster.WATCH_KEY is called after commit)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.jobs.schedule import WARM_DEBOUNCE_SECONDS, WARM_TASK
from skyslots.jobs.stopping import cancel_all
from skyslots.jobs.work import warm_artifacts
from skyslots.roster import WATCH_KEY
from skyslots.storage.base import Storage

log = logging.getLogger(__name__)
Warm = Callable[[list[int]], Awaitable[object]]


@asynccontextmanager
async def warming(
    db: Database, warm: Warm, *, delay: float = WARM_DEBOUNCE_SECONDS
) -> AsyncIterator[None]:
    """While open, every committed roster change leads to `warm(event_ids)` within `delay`."""
    pending: set[int] = set()
    due = asyncio.Event()

    def changed(event_id: int) -> None:
        pending.add(event_id)
        due.set()

    async def loop() -> None:
        while True:
            await due.wait()
            await asyncio.sleep(delay)
            due.clear()
            ids = sorted(pending)
            pending.clear()
            try:
                await warm(ids)
            except Exception as exc:  # the next request makes the file instead
                log.warning("could not regenerate stored files of events %s: %s", ids, exc)

    task = asyncio.create_task(loop())
    db.share_with_sessions(**{WATCH_KEY: changed})
    try:
        yield
    finally:
        db.share_with_sessions(**{WATCH_KEY: None})
        await cancel_all([task])


def artifacts_warming(
    settings: Settings, db: Database, storage: Storage
) -> contextlib.AbstractAsyncContextManager[None]:
    """For the app's lifespan: warm in-process (embedded default), or ask a Celery worker."""
    if settings.runs_jobs_in_process:
        return warming(db, lambda ids: warm_artifacts(db, storage, settings, ids))
    if settings.celery_broker_url is None:
        return contextlib.nullcontext()
    from skyslots.jobs.celery_app import celery  # only with a broker: it reads the settings

    async def send(ids: list[int]) -> None:
        sending = asyncio.to_thread(celery.send_task, WARM_TASK, args=[ids], retry=False)
        await asyncio.wait_for(sending, timeout=2.0)

    return warming(db, send)
