"""Real `skyslots worker` and `skyslots beat` processes on PostgreSQL and a private Redis, a real
server kicking them, and a real SMTP server: mail goes out once through kills and outages."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from skyslots.migrate import migrate
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.servers import Job, RunningServer, server_env, start_server
from tests.smtp_sink import Sink, smtp_sink

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Stack:
    server: RunningServer
    http: httpx.AsyncClient
    worker: Job
    beat: Job
    redis: PrivateRedis
    sink: Sink
    folder: Path
    organizer: Account

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.folder.glob("*.log"))


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    with smtp_sink() as running:
        yield running


@pytest.fixture
async def stack(sink: tuple[Sink, str]) -> AsyncIterator[Stack]:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-jobs-"))
    try:
        await asyncio.to_thread(migrate, url)
        env = server_env(
            url,
            {
                "SKYSLOTS_REDIS_URL": redis.url,
                "SKYSLOTS_SMTP_URL": sink[1],
                "SKYSLOTS_OUTBOX_LEASE_SECONDS": "3",
                "SKYSLOTS_OUTBOX_POLL_SECONDS": "1",
                "SKYSLOTS_REMINDER_POLL_SECONDS": "1",
                "SKYSLOTS_LOG_LEVEL": "INFO",
            },
        )
        command = [sys.executable, "-m", "skyslots"]
        worker = Job([*command, "worker", "--concurrency", "1", "--loglevel", "INFO"], env,
                     folder / "worker.log")  # fmt: skip
        beat = Job([*command, "beat", "--schedule", str(folder / "beat-schedule")], env,
                   folder / "beat.log")  # fmt: skip
        worker.start()
        beat.start()
        try:  # the job processes stop even when the server fails to start
            server = await asyncio.to_thread(start_server, url, env=env)
            db = Database(make_settings(url, folder))
            try:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                    organizer = await make_account(db, http, email="org@example.com")
                    yield Stack(server, http, worker, beat, redis, sink[0], folder, organizer)
            finally:
                await db.dispose()
                await asyncio.to_thread(server.stop)
        finally:
            worker.stop()
            beat.stop()
    finally:
        redis.stop()
        await drop_postgres_database(url)


async def offers(stack: Stack, count: int) -> list[dict[str, Any]]:
    """`count` slots, each booked, waited for by someone with an email, then released: each
    release makes an offer and writes its mail to the outbox."""
    http, org = stack.http, stack.organizer
    event = await make_event(http, org)
    joined = []
    for number, slot in enumerate(await make_slots(http, org, event, pilot_slots(count))):
        booked = await http.post(f"/api/slots/{slot['id']}/book", json=booking_body(f"BAW{number}"))
        assert booked.status_code == 201, booked.text
        entry = await http.post(
            f"/api/events/{event['id']}/waitlist",
            json={"pilot_name": f"Waiter {number}", "pilot_callsign": f"DLH{number}",
                  "email": f"waiter{number}@example.com", "slot_id": slot["id"]},
        )  # fmt: skip
        assert entry.status_code == 201, entry.text
        released = await http.post(
            f"/api/bookings/{booked.json()['id']}/release",
            headers={"X-Manage-Token": booked.json()["manage_token"]},
        )
        assert released.status_code == 200, released.text
        joined.append(entry.json())
    return joined


def settled_mails(stack: Stack, count: int, timeout: float = 30.0) -> list[Any]:
    """The sink's mails once `count` arrived and no further copy came for a while."""
    try:
        stack.sink.wait_for(count, timeout=timeout)
    except AssertionError:
        raise AssertionError(stack.logs()) from None
    time.sleep(4)  # longer than a lease: a second copy would be here by now
    return list(stack.sink.messages)


def recipients(mails: list[Any]) -> list[str]:
    return sorted(str(mail["To"]) for mail in mails)


async def test_the_worker_mails_an_offer_right_after_the_commit(stack: Stack) -> None:
    started = time.monotonic()
    await offers(stack, 1)
    stack.sink.wait_for(1, timeout=20)
    # Kicked through Redis at commit: well before beat's next relay would have been needed.
    assert time.monotonic() - started < 10
    mails = settled_mails(stack, 1)
    assert recipients(mails) == ["waiter0@example.com"]


async def test_a_worker_killed_mid_delivery_delivers_after_restart_once(stack: Stack) -> None:
    stack.sink.stall_seconds = 30.0  # the SMTP conversation hangs until the worker is gone
    await offers(stack, 1)
    deadline = time.monotonic() + 20
    while stack.sink.recipients_seen == 0:
        assert time.monotonic() < deadline, stack.logs()
        await asyncio.sleep(0.05)
    stack.worker.kill()
    stack.sink.stall_seconds = 0.0
    assert stack.sink.messages == []
    stack.worker.start()
    mails = await asyncio.to_thread(settled_mails, stack, 1)
    assert recipients(mails) == ["waiter0@example.com"]


async def test_redis_down_while_bookings_are_made_loses_no_mail(stack: Stack) -> None:
    stack.redis.stop()
    await offers(stack, 3)  # the kicks are lost; the rows are in the database
    await asyncio.sleep(1)
    assert stack.sink.messages == []
    stack.redis.start()  # empty, as after a crash: beat's relay finds the rows anyway
    mails = await asyncio.to_thread(settled_mails, stack, 3, 60.0)
    assert recipients(mails) == [f"waiter{n}@example.com" for n in range(3)]


async def test_beat_finds_a_reminder_when_due_and_the_worker_mails_it_once(stack: Stack) -> None:
    """A real clock with a short lead: the event starts 60 min + a few seconds after the booking,
    so the 60-minute reminder falls due seconds later (the 1440 one had passed: skipped)."""
    http, org = stack.http, stack.organizer
    start = datetime.now(UTC) + timedelta(minutes=60, seconds=6)
    event = await make_event(
        http, org, start_datetime=start.isoformat(),
        end_datetime=(start + timedelta(hours=2)).isoformat(), reminder_offsets_minutes=[1440, 60],
    )  # fmt: skip
    [slot] = await make_slots(http, org, event, pilot_slots(1))
    booked = await http.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="baw1@example.com")
    )
    assert booked.status_code == 201, booked.text
    await asyncio.to_thread(stack.sink.wait_for, 1, 20)  # the confirmation, at once
    due = start - timedelta(minutes=60)
    assert datetime.now(UTC) < due, "the test's lead was too short to see the wait"
    while len(stack.sink.messages) < 2:
        assert datetime.now(UTC) < due + timedelta(seconds=30), stack.logs()
        await asyncio.sleep(0.05)
    assert datetime.now(UTC) >= due, "the reminder came before its moment"
    mails = await asyncio.to_thread(settled_mails, stack, 2, 30.0)
    assert len(mails) == 2, [str(m["Subject"]) for m in mails]
    reminder = mails[1]
    assert str(reminder["Subject"]).startswith("Reminder:"), reminder["Subject"]
    assert reminder["To"] == "baw1@example.com"
