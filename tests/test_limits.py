"""Per-person limits: callsign and email, case-insensitive, seats numbered by the database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def claim(client: httpx.AsyncClient, slot: dict[str, Any], callsign: str, **extra: Any):
    return await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign, **extra))


async def test_default_limit_is_one_per_callsign_and_per_email(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    slots = await make_slots(client, organizer, event, pilot_slots(3))
    assert (await claim(client, slots[0], "BAW1", email="Jane@Example.com")).status_code == 201
    again = await claim(client, slots[1], "baw1")
    assert again.status_code == 409 and again.json()["code"] == "callsign_taken"
    by_email = await claim(client, slots[1], "DLH2", email="jane@EXAMPLE.com")
    assert by_email.status_code == 409 and by_email.json()["code"] == "limit_reached"
    assert "1 slot" in by_email.json()["detail"]
    assert (await claim(client, slots[1], "DLH2", email="other@example.com")).status_code == 201


async def test_a_higher_limit_counts_callsigns_and_emails(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, max_slots_per_person=2)
    slots = await make_slots(client, organizer, event, pilot_slots(5))
    assert (await claim(client, slots[0], "BAW1")).status_code == 201
    assert (await claim(client, slots[1], "baw1")).status_code == 201
    third = await claim(client, slots[2], "Baw1")
    assert third.status_code == 409 and third.json()["code"] == "limit_reached"
    assert "2 slots" in third.json()["detail"]
    assert (await claim(client, slots[2], "DLH1", email="x@example.com")).status_code == 201
    assert (await claim(client, slots[3], "DLH2", email="X@example.com")).status_code == 201
    fourth = await claim(client, slots[4], "DLH3", email="x@EXAMPLE.com")
    assert fourth.status_code == 409 and fourth.json()["code"] == "limit_reached"

    # A release gives the seat back; the next claim takes the free seat number.
    booking = (
        await client.get(f"/api/events/{event['id']}/bookings", headers=organizer.headers)
    ).json()
    first = next(b for b in booking if b["pilot_callsign"] == "BAW1")
    released = await client.post(f"/api/bookings/{first['id']}/release", headers=organizer.headers)
    assert released.status_code == 200
    assert (await claim(client, slots[4], "BAW1")).status_code == 201


async def test_limit_bounds(client: httpx.AsyncClient, organizer: Account) -> None:
    for bad in (0, 21):
        response = await client.post(
            "/api/events",
            json={
                "title": "x",
                "start_datetime": "2030-01-01T10:00:00Z",
                "end_datetime": "2030-01-01T12:00:00Z",
                "airport_icao": "EGLL",
                "max_slots_per_person": bad,
            },
            headers=organizer.headers,
        )
        assert response.status_code == 422, bad
