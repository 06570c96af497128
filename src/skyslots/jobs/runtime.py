"""A worker process's resources, made on first use after the fork: one event loop, the database,
the realtime publisher (so a sweep's freed slots reach open rosters), the senders and the
storage."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from skyslots.config import Settings, get_settings
from skyslots.db import Database
from skyslots.exports.withdraw import STORAGE_KEY
from skyslots.features.service import features_wired
from skyslots.outbox.relay import Sender
from skyslots.outbox.senders import senders
from skyslots.realtime.engine import realtime_running
from skyslots.storage.base import Storage
from skyslots.storage.factory import prepare, storage_for

T = TypeVar("T")


@dataclass
class WorkerRuntime:
    pid: int
    loop: asyncio.AbstractEventLoop
    settings: Settings
    db: Database
    senders: dict[str, Sender]
    storage: Storage
    stack: contextlib.AsyncExitStack

    def run(self, job: Callable[[WorkerRuntime], Awaitable[T]]) -> T:
        return self.loop.run_until_complete(job(self))


_current: WorkerRuntime | None = None


async def _open(settings: Settings) -> tuple[Database, contextlib.AsyncExitStack]:
    db = Database(settings)
    features_wired(settings, db)  # services in jobs (fan-out, promotion) follow the flags
    stack = contextlib.AsyncExitStack()
    stack.push_async_callback(db.dispose)
    await stack.enter_async_context(realtime_running(settings, db))
    return db, stack


def runtime() -> WorkerRuntime:
    """This process's runtime (a forked child makes its own)."""
    global _current
    if _current is None or _current.pid != os.getpid():
        settings = get_settings()
        loop = asyncio.new_event_loop()
        db, stack = loop.run_until_complete(_open(settings))
        storage = storage_for(settings)
        loop.run_until_complete(prepare(storage))  # down: a warning; each use tries again
        db.share_with_sessions(**{STORAGE_KEY: storage})
        _current = WorkerRuntime(
            os.getpid(), loop, settings, db, senders(db, settings), storage, stack
        )
    return _current


def shutdown(*_: Any, **__: Any) -> None:
    global _current
    if _current is not None and _current.pid == os.getpid():
        _current.loop.run_until_complete(_current.stack.aclose())
        _current.loop.close()
    _current = None
