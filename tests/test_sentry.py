"""Sentry with a local HTTP receiver as the DSN's host: a real `skyslots serve` whose database
goes away sends the error's event, and a real `skyslots worker` sends a failing task's; neither
carries an email, a password or a token. The worker's metrics port counts the failure."""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery

from skyslots import __version__
from skyslots.db import Database
from skyslots.migrate import migrate
from skyslots.sentry import before_send
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import PASSWORD, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.http_receiver import Received, Receiver, http_receiver
from tests.realtime_redis import PrivateRedis
from tests.servers import Job, free_port, server_env, start_server

pytestmark = [pytest.mark.postgres]
SCRAPE = {"Authorization": "Bearer worker-scrape-token"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def dsn(receiver: Receiver) -> str:
    return f"http://publickey{uuid.uuid4().hex[:6]}@{receiver.base_url.removeprefix('http://')}/1"


def envelope_items(request: Received) -> list[dict[str, Any]]:
    """The JSON items of a Sentry envelope (gzip or plain)."""
    body = request.body
    if request.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    items = []
    for line in body.decode("utf-8").splitlines():
        try:
            items.append(json.loads(line))
        except ValueError:
            continue
    return items


def error_events(receiver: Receiver, *, within: float = 30.0) -> tuple[list[dict[str, Any]], str]:
    """The error events received (waiting for one), and every body received, as text."""
    deadline = time.monotonic() + within
    while True:
        received = receiver.received()
        assert all("/api/1/envelope/" in r.path for r in received), [r.path for r in received]
        items = [item for r in received for item in envelope_items(r)]
        events = [i for i in items if i.get("level") == "error" and "event_id" in i]
        if events or time.monotonic() > deadline:
            return events, "\n".join(json.dumps(item) for item in items)
        time.sleep(0.1)


def assert_clean(text: str, secrets: list[str]) -> None:
    lowered = text.lower()
    leaked = [s for s in secrets if s.lower() in lowered]
    assert not leaked, f"Sentry received {leaked}"


async def test_the_app_sends_an_error_without_personal_data(
    receiver: Receiver, tmp_path: Path
) -> None:
    url = await create_postgres_database()
    email = f"Sentry.Booker.{uuid.uuid4().hex[:6]}@example.org"
    secrets = [email, PASSWORD, "org-sentry@example.com"]
    try:
        await asyncio.to_thread(migrate, url)
        env = {"SKYSLOTS_SENTRY_DSN": dsn(receiver), "SKYSLOTS_LOG_LEVEL": "INFO"}
        db = Database(make_settings(url, tmp_path))
        try:
            with start_server(url, env=env) as server:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                    org = await make_account(db, http, email="org-sentry@example.com")
                    secrets.append(org.headers["Authorization"].removeprefix("Bearer "))
                    event = await make_event(http, org, hold_seconds=0)
                    [slot] = await make_slots(http, org, event, pilot_slots(1))
                    booked = await http.post(
                        f"/api/slots/{slot['id']}/book", json=booking_body("SEN1", email=email)
                    )
                    assert booked.status_code == 201, booked.text
                    secrets.append(booked.json()["manage_token"])
                    await db.dispose()
                    await drop_postgres_database(url)  # the error: the database is gone
                    failed = await http.get(
                        f"/api/bookings/{booked.json()['id']}/data?token={secrets[-1]}",
                        headers={"X-Manage-Token": secrets[-1], "Cookie": f"c={email}"},
                    )
                    assert failed.status_code >= 500
                events, everything = await asyncio.to_thread(error_events, receiver)
                log = server.log_tail(2000)
        finally:
            await db.dispose()
    finally:
        await drop_postgres_database(url)
    assert events, f"no error event arrived:\n{log}"
    event = events[0]
    assert event["release"] == f"skyslots@{__version__}"
    assert event["environment"] == "test"
    assert event["tags"]["component"] == "app"
    assert "user" not in event
    assert_clean(everything, secrets)


@pytest.mark.redis
async def test_the_worker_sends_a_failed_task_and_counts_it(
    receiver: Receiver, tmp_path: Path
) -> None:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    port = free_port()
    email = f"in.a.task.{uuid.uuid4().hex[:6]}@example.net"
    worker: Job | None = None
    try:
        await asyncio.to_thread(migrate, url)
        env = server_env(
            url,
            {
                "SKYSLOTS_REDIS_URL": redis.url,
                "SKYSLOTS_SENTRY_DSN": dsn(receiver),
                "SKYSLOTS_WORKER_METRICS_PORT": str(port),
                "SKYSLOTS_METRICS_TOKEN": "worker-scrape-token",
                "SKYSLOTS_LOG_LEVEL": "INFO",
            },
        )
        command = [sys.executable, "-m", "skyslots", "worker", "--concurrency", "2"]
        worker = Job(command, env, tmp_path / "worker.log")
        worker.start()
        metrics_url = f"http://127.0.0.1:{port}/metrics"

        def worker_metrics() -> str:
            deadline = time.monotonic() + 30
            while True:
                try:
                    answer = httpx.get(metrics_url, headers=SCRAPE, timeout=5)
                    assert answer.status_code == 200, answer.text
                    return answer.text
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, worker_log()
                    time.sleep(0.2)

        def worker_log() -> str:
            return (tmp_path / "worker.log").read_text(errors="replace")

        await asyncio.to_thread(worker_metrics)  # the worker is up
        refused = await asyncio.to_thread(httpx.get, metrics_url, timeout=5)
        assert refused.status_code == 401  # the scrape token guards the worker's port too
        client = Celery(broker=redis.url)
        # An id that is no id (an email, even): the task fails in the database call.
        client.send_task("skyslots.deliver_outbox", args=[[email]])
        events, everything = await asyncio.to_thread(error_events, receiver)
        assert events, f"no error event arrived:\n{worker_log()[-4000:]}"
        assert any(e["tags"].get("component") == "worker" for e in events)
        assert any("exception" in e for e in events)
        assert_clean(everything, [email])
        deadline = time.monotonic() + 20
        while 'skyslots_task_failures_total{task="skyslots.deliver_outbox"} 1.0' not in (
            text := await asyncio.to_thread(worker_metrics)
        ):
            assert time.monotonic() < deadline, text
            await asyncio.sleep(0.2)
        assert 'skyslots_task_duration_seconds_count{task="skyslots.deliver_outbox"} 1.0' in text
        client.close()
        log = worker_log()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        failure = [line for line in lines if line.get("task") == "skyslots.deliver_outbox"]
        assert failure and all(line.get("task_id") for line in failure), log[-3000:]
        assert email.lower() not in log.lower(), "the worker's log names the email"
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
        await drop_postgres_database(url)


def test_before_send_drops_the_requests_personal_parts() -> None:
    event = {
        "user": {"ip_address": "203.0.113.7", "email": "u@example.com"},
        "request": {
            "url": "https://app.example/bookings/1/manage?token=secret-manage",
            "method": "GET",
            "query_string": "token=secret-manage",
            "cookies": {"skyslots_session": "signed-cookie"},
            "data": {"password": "hunter2"},
            "headers": {
                "Authorization": "Bearer abc",
                "X-Manage-Token": "secret-manage",
                "Cookie": "skyslots_session=signed-cookie",
                "User-Agent": "pytest",
            },
        },
        "exception": {"values": [{"value": "550 <jane@example.com> rejected"}]},
        "breadcrumbs": {"values": [{"message": "mail to bob@example.org, sks_abcdef"}]},
    }
    sent = before_send(event, {})
    text = json.dumps(sent)
    for secret in ("203.0.113.7", "example.com", "secret-manage", "signed-cookie", "hunter2",
                   "abc", "bob@example.org", "abcdef"):  # fmt: skip
        assert secret not in text, (secret, text)
    assert sent["request"]["headers"] == {"User-Agent": "pytest"}
    assert sent["request"]["url"] == "https://app.example/bookings/1/manage"
    assert sent["exception"]["values"][0]["value"] == "550 <[email]> rejected"
