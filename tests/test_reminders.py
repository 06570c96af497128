"""Reminders before a booked slot: due from the database, each (booking, offset) mailed once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.jobs.work import deliver_outbox
from skyslots.migrate import migrate
from skyslots.models import OutboxMessage
from skyslots.outbox.senders import senders
from skyslots.reminders.due import due_offset, reminders_due
from tests.conftest import make_settings
from tests.helpers import (
    Account,
    booking_body,
    make_account,
    make_event,
    make_slots,
    pilot_slots,
)
from tests.servers import start_server
from tests.smtp_sink import Sink, text_of

START = datetime(2027, 3, 1, 18, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()


def at(minutes_before: float) -> datetime:
    return START - timedelta(minutes=minutes_before)


@pytest.mark.parametrize(
    ("claimed", "now", "due"),
    [
        (3000, 1441, None),  # not yet
        (3000, 1440, 1440),  # the day before
        (3000, 61, 1440),  # still the day-before one, until the hour-before one is due
        (3000, 60, 60),
        (3000, 0, None),  # the slot has started
        (1000, 900, None),  # booked after the day-before moment: that one is skipped
        (1000, 60, 60),
        (30, 10, None),  # booked within the hour: no reminder at all
    ],
)
def test_which_offset_is_due(claimed: float, now: float, due: int | None) -> None:
    assert due_offset([60, 1440], start=START, claimed_at=at(claimed), now=at(now)) == due


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(database_url, tmp_path, smtp_url=sink[1])


async def outbox_states(db: Database) -> list[tuple[Any, ...]]:
    async def read(session: Any) -> list[tuple[Any, ...]]:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts,
                   OutboxMessage.last_error, OutboxMessage.next_attempt_at)
        )  # fmt: skip
        return [tuple(r) for r in rows]

    return await db.read(read)


async def reminder_rows(db: Database) -> list[tuple[str, str]]:
    async def read(session: Any) -> list[tuple[str, str]]:
        rows = await session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.status)
            .where(OutboxMessage.kind == "booking.reminder")
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in rows]

    return await db.read(read)


async def test_reminders_are_mailed_once_and_follow_the_slot(
    client: httpx.AsyncClient, db: Database, settings: Settings, sink: tuple[Sink, str]
) -> None:
    organizer: Account = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    start = datetime.fromisoformat(event["start_datetime"])
    block = {"start_time": (start + timedelta(hours=1)).isoformat(),
             "end_time": (start + timedelta(hours=2)).isoformat()}  # fmt: skip
    tower, ground, spare = await make_slots(
        client, organizer, event,
        [{"position_name": n, **block} for n in ("EGLL_TWR", "EGLL_GND", "EGLL_DEL")],
    )  # fmt: skip
    slot_start = start + timedelta(hours=1)
    for slot, callsign in ((tower, "BAW1"), (ground, "BAW2")):
        booked = await client.post(
            f"/api/slots/{slot['id']}/book",
            json=booking_body(callsign, email=f"{callsign.lower()}@example.com"),
        )
        assert booked.status_code == 201
        if callsign == "BAW2":
            released = await client.post(
                f"/api/bookings/{booked.json()['id']}/release",
                headers={"X-Manage-Token": booked.json()["manage_token"]},
            )
            assert released.status_code == 200  # a released booking gets no reminder
    await client.post(f"/api/slots/{spare['id']}/book", json=booking_body("BAW3"))  # no email
    day_before = slot_start - timedelta(minutes=1440)

    assert await db.transaction(reminders_due, now=day_before - timedelta(minutes=1)) == 0
    assert await db.transaction(reminders_due, now=day_before) == 1
    assert await db.transaction(reminders_due, now=day_before + timedelta(minutes=5)) == 0  # once
    await deliver_outbox(db, settings, senders(db, settings))
    try:  # booking confirmed x2, released, the reminder
        mails = await asyncio.to_thread(sink[0].wait_for, 4)
    except AssertionError as missing:  # say which delivery is late, and why
        raise AssertionError(f"{missing}; outbox: {await outbox_states(db)}") from None
    reminder = next(m for m in mails if subject(m).startswith("Reminder"))
    assert reminder["To"] == "baw1@example.com"
    assert (
        subject(reminder) == f"Reminder: {tower_label(tower)} at {event['title']} starts in 1 day"
    )
    assert "BAW1" in text_of(reminder)

    # The organizer moves the slot an hour later: the hour-before reminder moves with it.
    later = {"start_time": (start + timedelta(hours=2)).isoformat(),
             "end_time": (start + timedelta(hours=3)).isoformat()}  # fmt: skip
    moved = await client.patch(f"/api/slots/{tower['id']}", json=later, headers=organizer.headers)
    assert moved.status_code == 200, moved.text
    old_hour_before = slot_start - timedelta(minutes=60)
    assert await db.transaction(reminders_due, now=old_hour_before) == 0
    assert await db.transaction(reminders_due, now=old_hour_before + timedelta(hours=1)) == 1
    assert [key for key, _ in await reminder_rows(db)] == [
        f"reminder:{tower_booking(mails)}:1440",
        f"reminder:{tower_booking(mails)}:60",
    ]


def subject(mail: Any) -> str:
    return str(mail["Subject"]).strip()  # a folded header keeps the fold's space


def tower_label(slot: dict[str, Any]) -> str:
    start = datetime.fromisoformat(slot["start_time"])
    end = datetime.fromisoformat(slot["end_time"])
    return f"{slot['position_name']} {start:%H%M}z-{end:%H%M}z"


def tower_booking(mails: list[Any]) -> int:
    """BAW1's booking id, from its confirmation (mails arrive in no set order: the reminder may
    come first)."""
    confirmed = next(
        m for m in mails if m["To"] == "baw1@example.com" and not subject(m).startswith("Reminder")
    )
    link = next(w for w in text_of(confirmed).split() if "/manage?token=" in w)
    return int(link.split("/bookings/")[1].split("/")[0])


async def test_the_embedded_default_mails_a_reminder_in_process_once(
    tmp_path: Path, sink: tuple[Sink, str]
) -> None:
    """`skyslots serve` without Redis (as `make run`) runs the reminder scan itself: a booking
    60 minutes and a few seconds before its event gets the hour-before reminder seconds later."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}"
    await asyncio.to_thread(migrate, url)
    env = {"SKYSLOTS_SMTP_URL": sink[1], "SKYSLOTS_REMINDER_POLL_SECONDS": "1"}
    server = await asyncio.to_thread(start_server, url, env=env)
    db = Database(make_settings(url, tmp_path))
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            organizer = await make_account(db, http, email="org@example.com")
            start = datetime.now(UTC) + timedelta(minutes=60, seconds=5)
            event = await make_event(
                http, organizer, start_datetime=start.isoformat(),
                end_datetime=(start + timedelta(hours=2)).isoformat(),
                reminder_offsets_minutes=[60],
            )  # fmt: skip
            [slot] = await make_slots(http, organizer, event, pilot_slots(1))
            booked = await http.post(
                f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="b@example.com")
            )
            assert booked.status_code == 201, booked.text
            mails = await asyncio.to_thread(sink[0].wait_for, 2, 30)
            assert datetime.now(UTC) >= start - timedelta(minutes=60)
            await asyncio.sleep(3)  # three more scans: no second copy
            assert [subject(m).split(":")[0] for m in sink[0].messages] == [
                subject(mails[0]).split(":")[0],
                "Reminder",
            ]
    finally:
        await db.dispose()
        await asyncio.to_thread(server.stop)
