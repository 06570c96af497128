"""Exports in the web process (the embedded default, no broker): each kicked or due export runs
as a task of its own, at most RUNNING at once; generation happens in a thread, so requests go on
being served meanwhile. At shutdown the relay and the exports under way are let finish (a task
cancelled in the middle of a database call can leave its connection behind), then cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.exports.run import run_export
from skyslots.jobs.schedule import RUN_EXPORT_TASK
from skyslots.jobs.stopping import cancel_all
from skyslots.jobs.work import exports_to_run
from skyslots.metrics import task_timed
from skyslots.storage.base import Storage

log = logging.getLogger(__name__)
RUNNING = 2
SHUTDOWN_SECONDS = 10.0


class ExportRunner:
    def __init__(self, db: Database, storage: Storage, settings: Settings) -> None:
        self.db, self.storage, self.settings = db, storage, settings
        self._slots = asyncio.Semaphore(RUNNING)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()

    def start(self, export_id: int) -> None:
        """Run the export soon, unless it already runs here (or the process is stopping)."""
        if export_id not in self._tasks and not self._stopping.is_set():
            task = asyncio.create_task(self._run(export_id))
            self._tasks[export_id] = task
            task.add_done_callback(lambda _t: self._tasks.pop(export_id, None))

    async def kick(self, export_id: int) -> None:
        self.start(export_id)

    async def _run(self, export_id: int) -> None:
        async with self._slots:
            try:
                with task_timed(RUN_EXPORT_TASK):
                    await run_export(self.db, self.storage, self.settings, export_id)
            except Exception:  # the database is down: the relay tries again
                log.exception("export %d could not run", export_id)

    async def relay(self, seconds: float) -> None:
        """Every `seconds`, start the exports that are due (lost kicks, retries, images)."""
        while not self._stopping.is_set():
            try:
                for export_id in await exports_to_run(self.db, self.settings):
                    self.start(export_id)
            except Exception:
                log.exception("export relay failed; trying again in %.0f s", seconds)
            with contextlib.suppress(TimeoutError):  # not wait_for: see jobs.running._every
                async with asyncio.timeout(seconds):
                    await self._stopping.wait()

    async def close(self, relay: asyncio.Task[None] | None = None) -> None:
        """Stop starting exports; let the relay and those under way finish, then cancel."""
        self._stopping.set()
        pending = [*self._tasks.values(), *([relay] if relay else [])]
        if not pending:
            return
        _done, late = await asyncio.wait(pending, timeout=SHUTDOWN_SECONDS)
        await cancel_all(late)
