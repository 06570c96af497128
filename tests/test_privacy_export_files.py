"""Stored export files follow deletions: when a booker erases their data, or an account is
deleted, the files of that event's exports (which name them) are withdrawn and deleted from
storage; retention withdraws the spreadsheets (which hold emails and notes). The storage cleanup
deletes export files that no export row points to. Both engines, real in-process jobs, the local
storage."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.exports.withdraw import WITHDRAWN, unreferenced_files_delete
from skyslots.jobs.work import purge_retention
from skyslots.storage.base import Storage
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.privacy_support import make_person
from tests.test_exports_api import download, finished, request


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, outbox_poll_seconds=0.3)


@pytest.fixture
def storage(app: FastAPI) -> Storage:
    return app.state.storage


async def exported(
    client: httpx.AsyncClient, organizer: Account, event_id: int, *formats: str
) -> list[dict[str, Any]]:
    """Run exports of `event_id` in `formats` to done; each is downloadable."""
    done = []
    for format in formats:
        queued = (await request(client, organizer, event_id, format)).json()
        export = await finished(client, organizer, queued["id"])
        assert export["status"] == "done", export
        assert (await download(client, export["url"])).status_code == 200
        done.append(export)
    return done


async def stored_keys(storage: Storage, event_id: int) -> set[str]:
    return {o.key for o in await storage.list(f"events/{event_id}/exports/")}


async def assert_withdrawn(
    client: httpx.AsyncClient, organizer: Account, storage: Storage, export: dict[str, Any]
) -> None:
    now = (await client.get(f"/api/exports/{export['id']}", headers=organizer.headers)).json()
    assert (now["status"], now["url"], now["error"]) == ("done", None, WITHDRAWN)
    assert (await download(client, export["url"])).status_code == 404
    for _ in range(50):  # the deletion runs after the commit
        if not await stored_keys(storage, export["event_id"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still stored: {await stored_keys(storage, export['event_id'])}")


async def test_erasing_a_booking_withdraws_its_events_export_files(
    client: httpx.AsyncClient, db: Database, storage: Storage
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    slot = (await make_slots(client, organizer, event, pilot_slots(1)))[0]
    body = booking_body("QXZ123", name="Quentin Xylo", email="quentin@erase.example")
    booking = (await client.post(f"/api/slots/{slot['id']}/book", json=body)).json()
    csv_export, pdf_export = await exported(client, organizer, event["id"], "csv", "pdf")
    csv_file = await download(client, csv_export["url"])
    assert b"quentin@erase.example" in csv_file.content

    erased = await client.delete(
        f"/api/bookings/{booking['id']}/personal-data",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert erased.status_code == 204, erased.text
    for export in (csv_export, pdf_export):
        await assert_withdrawn(client, organizer, storage, export)

    again = (await exported(client, organizer, event["id"], "csv"))[0]
    assert again["id"] != csv_export["id"]  # a withdrawn export is never "the same request"
    fresh = await download(client, again["url"])
    assert b"quentin" not in fresh.content.lower() and b"Deleted user" in fresh.content


async def test_deleting_an_account_withdraws_the_export_files_that_name_it(
    client: httpx.AsyncClient, db: Database, storage: Storage
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    mine, other = await make_event(client, organizer), await make_event(client, organizer)
    person = await make_person(db, client)
    slot = (await make_slots(client, organizer, mine, pilot_slots(1)))[0]
    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("QXZ124"), headers=person.account.headers
    )
    assert booked.status_code == 201, booked.text
    (named,) = await exported(client, organizer, mine["id"], "csv")
    (unrelated,) = await exported(client, organizer, other["id"], "csv")

    deleted = await client.delete("/api/me", headers=person.account.headers)
    assert deleted.status_code == 204, deleted.text
    await assert_withdrawn(client, organizer, storage, named)
    kept = (await client.get(f"/api/exports/{unrelated['id']}", headers=organizer.headers)).json()
    assert kept["url"] and kept["error"] is None
    assert (await download(client, kept["url"])).status_code == 200


async def test_retention_withdraws_the_spreadsheets_of_old_events(
    client: httpx.AsyncClient, db: Database, storage: Storage, settings: Settings
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    slot = (await make_slots(client, organizer, event, pilot_slots(1)))[0]
    body = booking_body("QXZ125", email="kept@retention.example", notes="call me")
    assert (await client.post(f"/api/slots/{slot['id']}/book", json=body)).status_code == 201
    csv_export, pdf_export = await exported(client, organizer, event["id"], "csv", "pdf")

    after = datetime.fromisoformat(event["end_datetime"]) + timedelta(days=31)
    assert await purge_retention(db, settings, now=after) == 1
    now = (await client.get(f"/api/exports/{csv_export['id']}", headers=organizer.headers)).json()
    assert (now["url"], now["error"]) == (None, WITHDRAWN)
    roster = (
        await client.get(f"/api/exports/{pdf_export['id']}", headers=organizer.headers)
    ).json()
    assert roster["url"] and roster["error"] is None  # the roster shows no email nor notes
    assert (await download(client, roster["url"])).status_code == 200
    assert (await download(client, csv_export["url"])).status_code == 404


async def test_the_storage_cleanup_deletes_export_files_no_export_points_to(
    client: httpx.AsyncClient, db: Database, storage: Storage
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    (export,) = await exported(client, organizer, event["id"], "csv")
    (kept_key,) = await stored_keys(storage, event["id"])
    # A withdrawn export's file whose after-commit deletion was lost (the process died), and a
    # file an attempt stored before it lost its lease: no row points to either.
    lost = [f"events/{event['id']}/exports/{export['id']}/v1-orphan.csv",
            f"events/{event['id']}/exports/987654/v3-987654.csv"]  # fmt: skip
    for key in lost:
        await storage.put(
            key, b"name,email\nQuentin,quentin@erase.example\n", content_type="text/csv"
        )
    calendar = f"events/{event['id']}/calendar/v1.ics"
    await storage.put(
        calendar, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", content_type="text/calendar"
    )

    await unreferenced_files_delete(db, storage, grace_seconds=600)
    assert all([await storage.exists(key) for key in lost])  # too young to go
    # (The count may include a roster image the in-process job is storing right now: eleven
    # minutes on, its file is old enough too.)
    later = utcnow() + timedelta(minutes=11)
    assert await unreferenced_files_delete(db, storage, grace_seconds=600, now=later) >= 2
    assert not any([await storage.exists(key) for key in lost])
    assert await stored_keys(storage, event["id"]) == {kept_key}
    assert await storage.exists(calendar)  # not an export file: not its business
    assert (await download(client, export["url"])).status_code == 200
