"""GET /health/ready: every check passing, then each one failing on its own: a dead database, a
private Redis stopped, a dead storage endpoint, a Celery deployment with no worker (until a real
`skyslots worker` starts beating), and an in-process job loop that stopped going round."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyslots.app import create_app
from skyslots.jobs import heartbeat
from skyslots.readiness import readiness
from tests.conftest import make_settings
from tests.realtime_redis import PrivateRedis
from tests.servers import Job, free_port, server_env

DEAD_DATABASE = "postgresql+asyncpg://nobody@127.0.0.1:1/none"


@asynccontextmanager
async def client_of(url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(url, tmp_path, **overrides))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


async def ready(http: httpx.AsyncClient, *, until: str | None = None) -> httpx.Response:
    """/health/ready, asked again for a few seconds until its status is `until`."""
    deadline = time.monotonic() + 20
    while True:
        response = await http.get("/health/ready")
        if until is None or response.json()["status"] == until or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.2)


async def test_ready_when_every_check_passes(sqlite_url: str, tmp_path: Path) -> None:
    async with client_of(sqlite_url, tmp_path) as http:
        response = await ready(http, until="ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    assert list(body["checks"]) == ["database", "storage", "worker"]  # no Redis configured
    assert all(check["ok"] for check in body["checks"].values())
    assert "in-process" in body["checks"]["worker"]["detail"]


async def test_a_dead_database_fails_only_the_database(tmp_path: Path) -> None:
    async with client_of(DEAD_DATABASE, tmp_path, jobs_in_process=True) as http:
        response = await ready(http)
        health = await http.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unready"
    assert response.json()["failed"] == ["database"], response.json()
    assert health.status_code == 503 and set(health.json()) == {"status", "database", "version"}


@pytest.mark.redis
async def test_a_stopped_redis_fails_only_redis(sqlite_url: str, tmp_path: Path) -> None:
    redis = PrivateRedis()
    redis.start()
    try:
        async with client_of(
            sqlite_url, tmp_path, redis_url=redis.url, jobs_in_process=True
        ) as http:
            before = await ready(http, until="ready")
            assert before.status_code == 200, before.json()
            assert before.json()["checks"]["redis"]["ok"] is True
            redis.stop()
            after = await ready(http)
    finally:
        redis.stop()
    assert after.status_code == 503
    assert after.json()["failed"] == ["redis"], after.json()
    assert "127.0.0.1" not in str(after.json()), "no address in the answer"


async def test_a_dead_storage_endpoint_fails_only_the_storage(
    sqlite_url: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = {"s3_endpoint_url": dead, "s3_access_key": "k", "s3_secret_key": "s" * 20}
    async with client_of(sqlite_url, tmp_path, **settings) as http:
        response = await ready(http)
    assert response.status_code == 503
    assert response.json()["failed"] == ["storage"], response.json()
    assert response.json()["checks"]["storage"]["detail"].startswith("the storage did not")


async def test_an_in_process_loop_that_stopped_fails_the_worker(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path)  # embedded: jobs in-process
    previous = heartbeat.in_process.last
    try:
        heartbeat.in_process.last = time.monotonic() - heartbeat.FRESH_SECONDS - 1
        from skyslots.db import Database
        from skyslots.storage.factory import storage_for

        db = Database(settings)
        try:
            stale = await readiness(settings, db, storage_for(settings))
            heartbeat.in_process.beat()
            fresh = await readiness(settings, db, storage_for(settings))
        finally:
            await db.dispose()
    finally:
        heartbeat.in_process.last = previous
    assert stale["failed"] == ["worker"], stale
    assert fresh["failed"] == [], fresh


@pytest.mark.redis
async def test_celery_without_a_worker_is_unready_until_one_beats(
    sqlite_url: str, tmp_path: Path
) -> None:
    redis = PrivateRedis()
    redis.start()
    worker: Job | None = None
    try:
        async with client_of(sqlite_url, tmp_path, redis_url=redis.url) as http:
            alone = await ready(http)
            assert alone.status_code == 503
            assert alone.json()["failed"] == ["worker"], alone.json()
            env = server_env(sqlite_url, {"SKYSLOTS_REDIS_URL": redis.url})
            command = [sys.executable, "-m", "skyslots", "worker", "--concurrency", "1"]
            worker = Job([*command, "--pool", "solo"], env, tmp_path / "worker.log")
            worker.start()
            joined = await ready(http, until="ready")
            log = (tmp_path / "worker.log").read_text(errors="replace")
            assert joined.status_code == 200, (joined.json(), log[-3000:])
            assert joined.json()["checks"]["worker"]["ok"] is True
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
