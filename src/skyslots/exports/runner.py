"""Exports in the web process (the embedded default, no broker): each kicked or due export runs
as a task of its own, at most RUNNING at once; generation happens in a thread, so requests go on
being served meanwhile."""

from __future__ import annotations

import asyncio
import logging

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.exports.run import run_export
from skyslots.storage.base import Storage

log = logging.getLogger(__name__)
RUNNING = 2


class ExportRunner:
    def __init__(self, db: Database, storage: Storage, settings: Settings) -> None:
        self.db, self.storage, self.settings = db, storage, settings
        self._slots = asyncio.Semaphore(RUNNING)
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, export_id: int) -> None:
        """Run the export soon, unless it already runs here."""
        if export_id not in self._tasks:
            task = asyncio.create_task(self._run(export_id))
            self._tasks[export_id] = task
            task.add_done_callback(lambda _t: self._tasks.pop(export_id, None))

    async def kick(self, export_id: int) -> None:
        self.start(export_id)

    async def _run(self, export_id: int) -> None:
        async with self._slots:
            try:
                await run_export(self.db, self.storage, self.settings, export_id)
            except Exception:  # the database is down: the relay tries again
                log.exception("export %d could not run", export_id)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
