"""Idempotency-Key on the booking writes: replayed for the same request, refused for another, and
concurrent duplicates make one booking."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from skyslots.db import Database, utcnow
from skyslots.idempotency.store import purge_expired
from skyslots.jobs.work import purge_retention
from skyslots.migrate import migrate
from skyslots.models import Booking, IdempotencyKey
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.servers import start_server


@pytest.fixture
async def slots(client: httpx.AsyncClient, db: Database) -> list[dict[str, Any]]:
    organizer: Account = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    return await make_slots(client, organizer, event, pilot_slots(3))


async def bookings(db: Database) -> int:
    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(Booking)))

    return await db.read(count)


async def test_a_repeated_request_gets_the_first_answer_again(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]]
) -> None:
    url, key = f"/api/slots/{slots[0]['id']}/book", {"Idempotency-Key": "k-1"}
    first = await client.post(url, json=booking_body("BAW1"), headers=key)
    again = await client.post(url, json=booking_body("BAW1"), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()  # the same booking and its manage token, once
    assert (
        again.headers["Idempotent-Replayed"] == "true"
        and "Idempotent-Replayed" not in first.headers
    )
    assert await bookings(db) == 1
    # Without the key the same body is a new request: the slot is taken.
    plain = await client.post(url, json=booking_body("BAW1"))
    assert plain.status_code == 409


async def test_a_refusal_is_replayed_as_well(
    client: httpx.AsyncClient, slots: list[dict[str, Any]]
) -> None:
    url = f"/api/slots/{slots[0]['id']}/book"
    await client.post(url, json=booking_body("BAW1"))
    key = {"Idempotency-Key": "k-2"}
    first = await client.post(url, json=booking_body("DLH1"), headers=key)
    again = await client.post(url, json=booking_body("DLH1"), headers=key)
    assert (first.status_code, again.status_code) == (409, 409)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"


async def test_the_same_key_with_another_request_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]]
) -> None:
    key = {"Idempotency-Key": "k-3"}
    await client.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"), headers=key)
    other = await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW2"), headers=key
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    assert await bookings(db) == 1
    # The key is per route: on another slot it is another request's key.
    elsewhere = await client.post(
        f"/api/slots/{slots[1]['id']}/book", json=booking_body("BAW2"), headers=key
    )
    assert elsewhere.status_code == 201


async def test_a_bad_key_is_a_validation_error(
    client: httpx.AsyncClient, slots: list[dict[str, Any]]
) -> None:
    bad = await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"),
        headers={"Idempotency-Key": "x" * 201},
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


async def test_every_named_write_takes_a_key(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]]
) -> None:
    held = await client.post(f"/api/slots/{slots[2]['id']}/hold", headers={"Idempotency-Key": "h"})
    held_again = await client.post(
        f"/api/slots/{slots[2]['id']}/hold", headers={"Idempotency-Key": "h"}
    )
    assert held.status_code == 201 and held_again.json() == held.json()  # not a second hold
    booked = await client.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"))
    manage = {"X-Manage-Token": booked.json()["manage_token"], "Idempotency-Key": "r"}
    url = f"/api/bookings/{booked.json()['id']}/release"
    released, again = await client.post(url, headers=manage), await client.post(url, headers=manage)
    assert (released.status_code, again.status_code) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    event_id = slots[0]["event_id"]
    await client.post(f"/api/slots/{slots[1]['id']}/book", json=booking_body("BAW2"))
    join = {"pilot_name": "Wait", "pilot_callsign": "DLH9", "slot_id": slots[1]["id"]}
    joined = [
        await client.post(f"/api/events/{event_id}/waitlist", json=join,
                          headers={"Idempotency-Key": "w"})
        for _ in range(2)
    ]  # fmt: skip
    assert [j.status_code for j in joined] == [201, 201] and joined[0].json() == joined[1].json()


@pytest.mark.parametrize("copies", [8])
async def test_concurrent_duplicates_make_one_booking(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]], copies: int
) -> None:
    url, key = f"/api/slots/{slots[0]['id']}/book", {"Idempotency-Key": "double-click"}
    answers = await asyncio.gather(
        *(client.post(url, json=booking_body("BAW1"), headers=key) for _ in range(copies))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}, codes
    assert all(a.json()["code"] == "idempotency_in_flight" for a in answers if a.status_code == 409)
    assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
    assert await bookings(db) == 1


async def test_expired_keys_are_purged(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]]
) -> None:
    await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"),
        headers={"Idempotency-Key": "old"},
    )  # fmt: skip
    assert await purge_expired(db) == 0

    async def age(session: Any) -> None:
        row = await session.scalar(select(IdempotencyKey))
        row.expires_at = row.created_at

    await db.transaction(age)
    assert await purge_expired(db) == 1


@pytest.mark.postgres
async def test_duplicates_racing_on_two_server_processes_make_one_booking(tmp_path: Path) -> None:
    url = await create_postgres_database()
    try:
        await asyncio.to_thread(migrate, url)
        server = await asyncio.to_thread(start_server, url, workers=2)
        db = Database(make_settings(url, tmp_path))
        try:
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                organizer = await make_account(db, http, email="org@example.com")
                event = await make_event(http, organizer)
                [slot] = await make_slots(http, organizer, event, pilot_slots(1))

            async def duplicate(n: int) -> httpx.Response:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as own:
                    return await own.post(
                        f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"),
                        headers={"Idempotency-Key": "retried-by-a-flaky-network"},
                    )  # fmt: skip

            answers = await asyncio.gather(*(duplicate(n) for n in range(20)))
            codes = [a.status_code for a in answers]
            assert set(codes) <= {201, 409} and 201 in codes, codes
            assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1
            assert await bookings(db) == 1
            late = await duplicate(0)  # once the first has finished: its answer, replayed
            assert late.status_code == 201 and late.headers["Idempotent-Replayed"] == "true"
        finally:
            await db.dispose()
            await asyncio.to_thread(server.stop)
    finally:
        await drop_postgres_database(url)


async def test_kept_answers_are_encrypted_so_no_manage_token_is_stored_in_the_clear(
    client: httpx.AsyncClient, db: Database, slots: list[dict[str, Any]]
) -> None:
    booked = await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1", name="Zoë Secret"),
        headers={"Idempotency-Key": "sealed"},
    )  # fmt: skip

    async def kept(session: Any) -> str:
        return str(await session.scalar(select(IdempotencyKey.response_body)))

    body = await db.read(kept)
    assert booked.json()["manage_token"] not in body and "Zoë" not in body


async def test_the_hourly_retention_job_purges_expired_keys(
    client: httpx.AsyncClient, db: Database, settings: Any, slots: list[dict[str, Any]]
) -> None:
    await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"),
        headers={"Idempotency-Key": "day-old"},
    )  # fmt: skip
    await purge_retention(db, settings, now=utcnow() + timedelta(hours=23))

    async def keys(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(IdempotencyKey)))

    assert await db.read(keys) == 1
    await purge_retention(db, settings, now=utcnow() + timedelta(hours=25))
    assert await db.read(keys) == 0
