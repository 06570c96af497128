"""Exports on real `skyslots worker` and `skyslots beat` processes (PostgreSQL, a private Redis,
a real SeaweedFS S3 server): a CSV made by the worker and fetched from its presigned URL; a worker
SIGKILLed in the middle of a PDF: the lease runs out, beat's relay runs it again, it finishes,
and no URL is handed out before the whole file is stored."""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from skyslots.db import Database
from skyslots.migrate import migrate
from skyslots.models import Export
from skyslots.storage import storage_for
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.exports_support import roster_event
from tests.helpers import Account, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.s3_server import S3Server
from tests.servers import Job, RunningServer, server_env, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Stack:
    server: RunningServer
    http: httpx.AsyncClient
    worker: Job
    db: Database
    organizer: Account
    env: dict[str, str]
    folder: Path

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.folder.glob("*.log"))


@pytest.fixture
async def stack(s3_server: S3Server) -> AsyncIterator[Stack]:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-exports-"))
    try:
        await asyncio.to_thread(migrate, url)
        env = server_env(
            url,
            {
                "SKYSLOTS_REDIS_URL": redis.url,
                "SKYSLOTS_EXPORT_LEASE_SECONDS": "3",
                "SKYSLOTS_OUTBOX_POLL_SECONDS": "1",
                "SKYSLOTS_ROSTER_IMAGE_SECONDS": "3600",
                "SKYSLOTS_LOG_LEVEL": "INFO",
                **s3_server.env(),
            },
        )
        command = [sys.executable, "-m", "skyslots"]
        worker = Job([*command, "worker", "--concurrency", "1", "--loglevel", "INFO"], env,
                     folder / "worker.log")  # fmt: skip
        beat = Job([*command, "beat", "--schedule", str(folder / "beat-schedule")], env,
                   folder / "beat.log")  # fmt: skip
        worker.start()
        beat.start()
        server = await asyncio.to_thread(start_server, url, env=env)
        db = Database(make_settings(url, folder))
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                organizer = await make_account(db, http, email="org@example.com")
                yield Stack(server, http, worker, db, organizer, env, folder)
        finally:
            await db.dispose()
            await asyncio.to_thread(server.stop)
            worker.stop()
            beat.stop()
    finally:
        redis.stop()
        await drop_postgres_database(url)


async def state(stack: Stack, export_id: int) -> dict[str, Any]:
    answer = await stack.http.get(f"/api/exports/{export_id}", headers=stack.organizer.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def until_finished(stack: Stack, export_id: int, seconds: float = 60) -> dict[str, Any]:
    for _ in range(int(seconds / 0.1)):
        body = await state(stack, export_id)
        if body["status"] in ("done", "failed"):
            return body
        if body["status"] != "done":
            assert body["url"] is None  # never a link before the file is whole
        await asyncio.sleep(0.1)
    raise AssertionError(f"export {export_id}: {body}\n{stack.logs()}")


async def test_a_worker_makes_a_csv(stack: Stack) -> None:
    event = await roster_event(stack.http, stack.organizer)
    queued = await stack.http.post(
        f"/api/events/{event['id']}/exports", json={"format": "csv"},
        headers=stack.organizer.headers,
    )  # fmt: skip
    assert queued.status_code == 202, queued.text
    done = await until_finished(stack, queued.json()["id"])
    assert done["status"] == "done", stack.logs()
    assert done["url"].startswith(stack.env["SKYSLOTS_S3_ENDPOINT_URL"])  # S3's presigned URL
    async with httpx.AsyncClient() as plain:
        file = await plain.get(done["url"])
    assert file.status_code == 200
    assert "Zoë Ångström" in file.content.decode("utf-8")
    assert "run_export" in stack.logs()  # the worker, not the web process, made it


async def test_a_worker_killed_during_a_pdf_export_is_retried(stack: Stack) -> None:
    event = await make_event(stack.http, stack.organizer)
    await make_slots(stack.http, stack.organizer, event, pilot_slots(2000))
    queued = await stack.http.post(
        f"/api/events/{event['id']}/exports", json={"format": "pdf"},
        headers=stack.organizer.headers,
    )  # fmt: skip
    export_id = queued.json()["id"]
    for _ in range(600):
        body = await state(stack, export_id)
        if body["status"] == "running":
            break
        await asyncio.sleep(0.02)
    assert body["status"] == "running", (body, stack.logs())
    stack.worker.kill()  # SIGKILL to the whole worker, mid-PDF
    killed = await state(stack, export_id)
    assert killed["status"] == "running" and killed["url"] is None
    stack.worker.start()
    done = await until_finished(stack, export_id, seconds=90)
    assert done["status"] == "done", (done, stack.logs())
    row = await stack.db.read(lambda s: s.get(Export, export_id))
    assert row is not None and row.attempts == 2, row
    settings = make_settings(stack.db.url, stack.folder, **_s3_fields(stack.env))
    storage = storage_for(settings)
    stored = await storage.get(row.object_key or "")
    assert stored is not None
    pages = PdfReader(io.BytesIO(stored)).pages
    assert len(pages) > 10 and f"Page {len(pages)} of {len(pages)}" in pages[-1].extract_text()


def _s3_fields(env: dict[str, str]) -> dict[str, str]:
    names = ("endpoint_url", "access_key", "secret_key", "bucket", "region")
    return {f"s3_{n}": env[f"SKYSLOTS_S3_{n.upper()}"] for n in names}
