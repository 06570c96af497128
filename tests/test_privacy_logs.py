"""Logs never print an email: a booking with one goes through the whole mail path (a real SMTP
server that first refuses, then accepts; a webhook receiver that fails) with every logger at
DEBUG, and no record holds the address."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from skyslots.config import Settings
from skyslots.db import Database
from tests.conftest import make_settings
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots
from tests.http_receiver import Receiver, http_receiver
from tests.smtp_sink import Sink

EMAIL = "Logan.Private@privacy.example"
# The SMTP server under test runs in this process; what it logs is the receiving side's.
RECEIVING_SIDE = ("mail.log",)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(
        database_url, tmp_path, smtp_url=sink[1], outbox_poll_seconds=0.1,
        webhooks_allow_private=True, log_level="DEBUG",
    )  # fmt: skip


async def test_no_log_record_holds_a_bookers_email(
    client: httpx.AsyncClient,
    db: Database,
    sink: tuple[Sink, str],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, hold_seconds=0)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    receiver.answers.append((500, {}, b"receiver down"))
    hook = {"url": receiver.url, "events": ["booking.claimed"], "include_email": True}
    created = await client.post(
        f"/api/events/{event['id']}/webhooks", json=hook, headers=organizer.headers
    )
    assert created.status_code == 201
    sink[0].refuse = True  # the first attempt fails and is logged
    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("LOG1", name="Logan", email=EMAIL)
    )
    assert booked.status_code == 201, booked.text
    for _ in range(200):
        if any("attempt 1: pending" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    sink[0].refuse = False
    again = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("LOG2", name="Logan", email=EMAIL)
    )
    assert again.status_code == 409  # a refusal naming nobody's address in the logs either
    await asyncio.to_thread(receiver.wait_for, 1)
    assert any("attempt 1" in r.getMessage() for r in caplog.records)  # failures were logged
    logged = [
        (r.name, r.getMessage(), r.exc_text or "")
        for r in caplog.records
        if not r.name.startswith(RECEIVING_SIDE)
    ]
    assert logged, "nothing was logged: the test proves nothing"
    leaks = [entry for entry in logged if EMAIL.lower() in str(entry).lower()]
    assert not leaks, leaks
