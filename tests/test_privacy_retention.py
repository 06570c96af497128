"""Retention with a fake clock: SKYSLOTS_RETENTION_DAYS after an event ends, its bookings'
emails and notes, its waitlist entries' emails and its outbox rows that carried them are gone;
younger events keep theirs. Both engines; a real SMTP server delivers the mails first."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.jobs.celery_app import celery
from skyslots.jobs.schedule import RETENTION_TASK
from skyslots.jobs.work import purge_retention
from skyslots.models import Booking, OutboxMessage, WaitlistEntry
from tests.conftest import make_settings
from tests.helpers import booking_body, event_start, make_account, make_event, make_slots
from tests.helpers import pilot_slots as pilots
from tests.privacy_support import assert_nowhere, assert_somewhere
from tests.smtp_sink import Sink


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(database_url, tmp_path, smtp_url=sink[1], outbox_poll_seconds=0.2)


async def booked_event(
    client: httpx.AsyncClient, organizer: Any, *, days: int, tag: str
) -> dict[str, Any]:
    """An event `days` ahead with a booking (email, notes) and a waiter (email) tagged `tag`."""
    start = event_start(days)
    event = await make_event(
        client, organizer, title=f"Event {tag}", hold_seconds=0,
        start_datetime=start.isoformat(), end_datetime=(start + timedelta(hours=6)).isoformat(),
    )  # fmt: skip
    slot = (await make_slots(client, organizer, event, pilots(1)))[0]
    body = booking_body(f"{tag}1", name=f"Pilot {tag}", email=f"{tag}@keep.example", notes=tag)
    booked = await client.post(f"/api/slots/{slot['id']}/book", json=body)
    assert booked.status_code == 201, booked.text
    wait = {"pilot_name": f"Waiter {tag}", "pilot_callsign": f"{tag}2",
            "email": f"{tag}.wait@keep.example", "slot_id": slot["id"]}  # fmt: skip
    assert (await client.post(f"/api/events/{event['id']}/waitlist", json=wait)).status_code == 201
    return event


async def rows(db: Database, model: Any, event: dict[str, Any]) -> list[Any]:
    async def read(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(model).where(model.event_id == event["id"])))

    return await db.read(read)


def ended(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["end_datetime"])


async def test_emails_and_notes_go_retention_days_after_the_event_ends(
    client: httpx.AsyncClient, db: Database, settings: Settings, sink: tuple[Sink, str]
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    old = await booked_event(client, organizer, days=1, tag="OLDX")
    young = await booked_event(client, organizer, days=20, tag="NEWX")
    await asyncio.to_thread(sink[0].wait_for, 2)  # both confirmations went out first
    assert settings.retention_days == 30

    just_before = ended(old) + timedelta(days=30) - timedelta(minutes=1)
    assert await purge_retention(db, settings, now=just_before) == 0
    await assert_somewhere(db, "oldx@keep.example")

    after = ended(old) + timedelta(days=30, minutes=1)
    assert await purge_retention(db, settings, now=after) == 1
    await assert_nowhere(db, "oldx@keep.example", "oldx.wait@keep.example")
    [booking] = await rows(db, Booking, old)
    assert (booking.email, booking.notes, booking.pilot_name) == (None, "", "Pilot OLDX")
    assert booking.status == "claimed"  # the record stays; only the contact details go
    [entry] = await rows(db, WaitlistEntry, old)
    assert (entry.email, entry.pilot_name) == (None, "Waiter OLDX")
    [mail] = await rows(db, OutboxMessage, old)
    assert (mail.kind, mail.target, mail.payload, mail.status) == (
        "booking.confirmed", "(deleted)", {}, "sent",
    )  # fmt: skip
    for kept in ("newx@keep.example", "newx.wait@keep.example"):  # the younger event keeps them
        await assert_somewhere(db, kept)
    assert await purge_retention(db, settings, now=after) == 0  # nothing left: a no-op

    shorter = settings.model_copy(update={"retention_days": 1})
    assert await purge_retention(db, shorter, now=ended(young) + timedelta(days=1, minutes=1)) == 1
    await assert_nowhere(db, "newx@keep.example", "newx.wait@keep.example", "OLDX@", "NEWX@")


def test_retention_days_is_at_least_one_and_runs_hourly_on_beat(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, retention_days=0)
    assert Settings(data_dir=tmp_path, retention_days=7).retention_days == 7
    [entry] = [e for e in celery.conf.beat_schedule.values() if e["task"] == RETENTION_TASK]
    assert entry["schedule"] == 3600
    assert RETENTION_TASK in celery.tasks or "skyslots.jobs.tasks" in celery.conf.imports
