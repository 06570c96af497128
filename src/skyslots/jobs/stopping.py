"""Stopping background tasks for good: a cancellation can be swallowed on its way through a
database call (the task then goes back to waiting for its next round, and a shutdown that only
cancelled once waits for ever), so cancel again until every task has ended."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)
ROUNDS = 20
ROUND_SECONDS = 0.5


async def cancel_all(tasks: Iterable[asyncio.Task[object]] | Iterable[asyncio.Task[None]]) -> None:
    """Cancel these tasks, again and again if need be, until all have ended (or give up loudly)."""
    every = list(tasks)
    pending = {task for task in every if not task.done()}
    for _ in range(ROUNDS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=ROUND_SECONDS)
    for task in every:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: an ended task's error was logged by the task itself
    if pending:
        log.error("%d background tasks did not stop: %s", len(pending), pending)
