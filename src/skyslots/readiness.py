"""What /health/ready checks: the database, Redis (when configured), the storage, and a worker
heartbeat within the last minute. Each check has its own time limit and runs concurrently."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.jobs import heartbeat
from skyslots.storage.base import Storage

CHECK_SECONDS = 3.0
Check = dict[str, Any]


class NotReady(Exception):
    """A check's failure, with a reason fit for the response (no address, no secret)."""


async def _database(db: Database) -> str | None:
    if not await db.ping():
        raise NotReady("the database did not answer")
    return None


def _redis_client(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.Redis.from_url(
        url, socket_timeout=CHECK_SECONDS, socket_connect_timeout=CHECK_SECONDS
    )


async def _redis(url: str) -> str | None:
    client = _redis_client(url)
    try:
        await client.ping()
    except Exception as exc:
        raise NotReady(f"Redis did not answer ({type(exc).__name__})") from None
    finally:
        await client.aclose()
    return None


async def _storage(storage: Storage) -> str | None:
    try:
        await storage.ensure_ready()
    except Exception as exc:
        raise NotReady(f"the storage did not answer ({type(exc).__name__})") from None
    return None


async def _worker(settings: Settings) -> str | None:
    if settings.runs_jobs_in_process:
        age = heartbeat.in_process.age()
        if age is None or age > heartbeat.FRESH_SECONDS:
            raise NotReady("the in-process job loop has not run within the last minute")
        return f"in-process jobs, last round {age:.0f} s ago"
    if settings.celery_broker_url is None:
        return "background jobs are off"
    url = heartbeat.redis_url(settings)
    if url is None:
        return "not checked: the broker is not Redis"
    client = _redis_client(url)
    try:
        beat = await client.get(heartbeat.key(settings))
    except Exception as exc:
        raise NotReady(f"the heartbeat could not be read ({type(exc).__name__})") from None
    finally:
        await client.aclose()
    if beat is None:
        raise NotReady("no worker heartbeat within the last minute")
    return "a worker beat within the last minute"


async def _timed(check: Callable[[], Awaitable[str | None]]) -> Check:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_SECONDS + 1):
            note = await check()
        result: Check = {"ok": True}
        if note:
            result["detail"] = note
    except NotReady as failure:
        result = {"ok": False, "detail": str(failure)}
    except TimeoutError:
        result = {"ok": False, "detail": f"no answer within {CHECK_SECONDS + 1:.0f} s"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


async def readiness(settings: Settings, db: Database, storage: Storage) -> dict[str, Any]:
    """Every check's result; `failed` names those that did not pass (see docs/operations.md)."""
    checks: dict[str, Callable[[], Awaitable[str | None]]] = {"database": lambda: _database(db)}
    if settings.redis_url:
        checks["redis"] = lambda: _redis(str(settings.redis_url))
    checks["storage"] = lambda: _storage(storage)
    checks["worker"] = lambda: _worker(settings)
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    named = dict(zip(checks, results, strict=True))
    failed = [name for name, result in named.items() if not result["ok"]]
    return {"status": "unready" if failed else "ready", "failed": failed, "checks": named}
