"""A real server and a real Celery worker on one S3 bucket (SeaweedFS) and a private Redis: the
worker stores the calendar after a booking (the server's debounced kick), and its cleanup task
keeps only the newest object per artifact."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from celery import Celery

from skyslots.db import Database
from skyslots.jobs.schedule import CLEAN_STORAGE_TASK
from skyslots.migrate import migrate
from skyslots.storage import storage_for
from skyslots.storage.base import Storage
from skyslots.storage.keys import event_calendar_prefix
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import booking_body, make_account, make_event, make_slots
from tests.realtime_redis import PrivateRedis
from tests.s3_server import S3Server
from tests.servers import Job, server_env, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Stack:
    http: httpx.AsyncClient
    db: Database
    storage: Storage
    celery: Celery
    worker: Job


async def wait_for_keys(
    storage: Storage, prefix: str, count: int, seconds: float = 30
) -> list[str]:
    for _ in range(int(seconds * 5)):
        keys = [o.key for o in await storage.list(prefix)]
        if len(keys) == count:
            return keys
        await asyncio.sleep(0.2)
    raise AssertionError(f"{prefix}: {keys}, {count} objects expected")


@pytest.fixture
async def stack(s3_server: S3Server) -> AsyncIterator[Stack]:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-storage-jobs-"))
    try:
        await asyncio.to_thread(migrate, url)
        bucket = s3_server.settings()["s3_bucket"]
        env = server_env(
            url,
            {
                "SKYSLOTS_REDIS_URL": redis.url,
                "SKYSLOTS_PRESIGN_SECONDS": "1",  # the cleanup's grace
                "SKYSLOTS_LOG_LEVEL": "INFO",
                **s3_server.env(bucket=str(bucket)),
            },
        )
        worker = Job(
            [sys.executable, "-m", "skyslots", "worker", "--concurrency", "1"],
            env,
            folder / "worker.log",
        )
        worker.start()
        try:  # the worker stops even when the server fails to start
            server = await asyncio.to_thread(start_server, url, env=env)
            settings = make_settings(url, folder, **s3_server.settings(bucket=str(bucket)))
            db = Database(settings)
            celery = Celery(broker=redis.url)
            try:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                    yield Stack(http, db, storage_for(settings), celery, worker)
            finally:
                await db.dispose()
                await asyncio.to_thread(server.stop)
        finally:
            worker.stop()
    finally:
        redis.stop()
        await drop_postgres_database(url)


async def test_the_worker_stores_the_calendar_and_cleans_up_the_old_ones(stack: Stack) -> None:
    http = stack.http
    organizer = await make_account(stack.db, http, email="org@example.com")
    event = await make_event(http, organizer)
    slots = await make_slots(http, organizer, event, [{"position_name": "EGLL_TWR"}])
    prefix = event_calendar_prefix(event["id"])
    [first] = await wait_for_keys(stack.storage, prefix, 1)  # the slot's creation warmed it

    booked = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("EGLLTWR"))
    assert booked.status_code == 201
    keys = await wait_for_keys(stack.storage, prefix, 2)  # the booking: a new version stored
    newest = max(keys, key=lambda k: int(k.rsplit("/v", 1)[1].removesuffix(".ics")))
    assert "EGLLTWR" in (await stack.storage.get(newest) or b"").decode()

    await asyncio.sleep(1.5)  # past the grace (SKYSLOTS_PRESIGN_SECONDS=1)
    stack.celery.send_task(CLEAN_STORAGE_TASK)
    assert await wait_for_keys(stack.storage, prefix, 1) == [newest]
    assert first != newest
