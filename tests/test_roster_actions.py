"""Organizer roster actions: assign, move, release all; each one transaction, audited, broadcast."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database, utcnow
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def stranger(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="other@example.com")


async def shown(client: httpx.AsyncClient, event: dict[str, Any]) -> dict[int, Any]:
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    return {s["id"]: s for s in detail["slots"]}


async def test_assign_ignores_window_and_lock_but_not_limits(
    client: httpx.AsyncClient, organizer: Account, stranger: Account
) -> None:
    opens = (utcnow() + timedelta(days=1)).isoformat()
    event = await make_event(client, organizer, booking_opens_at=opens)
    first, second, third = await make_slots(
        client, organizer, event, [*pilot_slots(2), {"position_name": "X 1", "is_locked": True}]
    )
    path = f"/api/slots/{third['id']}/assign"
    assert (await client.post(path, json=booking_body("BAW1"))).status_code == 401
    assert (
        await client.post(path, json=booking_body("BAW1"), headers=stranger.headers)
    ).status_code == 403
    assigned = await client.post(path, json=booking_body("BAW1"), headers=organizer.headers)
    assert assigned.status_code == 201, assigned.text
    assert (await shown(client, event))[third["id"]]["booking"]["pilot_callsign"] == "BAW1"
    twice = await client.post(
        f"/api/slots/{first['id']}/assign", json=booking_body("baw1"), headers=organizer.headers
    )
    assert twice.status_code == 409 and twice.json()["code"] == "callsign_taken"
    taken = await client.post(path, json=booking_body("DLH1"), headers=organizer.headers)
    assert taken.status_code == 409 and taken.json()["code"] == "slot_taken"
    audit = (await client.get(f"/api/events/{event['id']}/audit", headers=organizer.headers)).json()
    assert [row["action_type"] for row in audit].count("booking.assigned") == 1
    assert second


async def test_move_to_a_free_slot_and_the_waitlist_moves_up(
    client: httpx.AsyncClient, organizer: Account, stranger: Account
) -> None:
    event = await make_event(client, organizer)
    first, second, third = await make_slots(client, organizer, event, pilot_slots(3))
    booking = (
        await client.post(f"/api/slots/{first['id']}/book", json=booking_body("BAW1"))
    ).json()
    other = (await client.post(f"/api/slots/{third['id']}/book", json=booking_body("KLM1"))).json()
    waiter = (
        await client.post(
            f"/api/events/{event['id']}/waitlist",
            json={"pilot_name": "W", "pilot_callsign": "DLH1", "slot_id": first["id"]},
        )
    ).json()
    path = f"/api/bookings/{booking['id']}/move"
    assert (await client.post(path, json={"slot_id": second["id"]})).status_code == 401
    refused = await client.post(path, json={"slot_id": second["id"]}, headers=stranger.headers)
    assert refused.status_code == 403
    busy = await client.post(path, json={"slot_id": third["id"]}, headers=organizer.headers)
    assert busy.status_code == 409 and busy.json()["code"] == "slot_taken"
    elsewhere = await make_slots(
        client, organizer, await make_event(client, organizer), pilot_slots(1)
    )
    foreign = await client.post(
        path, json={"slot_id": elsewhere[0]["id"]}, headers=organizer.headers
    )
    assert foreign.status_code == 422

    moved = await client.post(path, json={"slot_id": second["id"]}, headers=organizer.headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["slot_id"] == second["id"]
    slots = await shown(client, event)
    assert slots[second["id"]]["booking"]["pilot_callsign"] == "BAW1"
    assert slots[first["id"]]["status"] == "held"  # offered to the waiter
    view = await client.get(
        f"/api/waitlist/{waiter['id']}", headers={"X-Manage-Token": waiter["manage_token"]}
    )
    assert view.json()["status"] == "offered"
    assert other


async def test_release_all_needs_the_title(
    client: httpx.AsyncClient, organizer: Account, stranger: Account
) -> None:
    event = await make_event(client, organizer)
    slots = await make_slots(client, organizer, event, pilot_slots(3))
    for number, slot in enumerate(slots[:2]):
        await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(f"BAW{number}"))
    await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "W", "pilot_callsign": "DLH1", "slot_id": slots[0]["id"]},
    )
    path = f"/api/events/{event['id']}/bookings/release-all"
    version = (await client.get(f"/api/events/{event['id']}/state")).json()["version"]
    assert (await client.post(path, json={"confirm": event["title"]})).status_code == 401
    assert (
        await client.post(path, json={"confirm": event["title"]}, headers=stranger.headers)
    ).status_code == 403
    wrong = await client.post(path, json={"confirm": "nope"}, headers=organizer.headers)
    assert wrong.status_code == 422
    done = await client.post(path, json={"confirm": event["title"]}, headers=organizer.headers)
    assert done.status_code == 200 and done.json() == {"released": 2}
    assert all(s["status"] == "free" for s in (await shown(client, event)).values())
    changes = (await client.get(f"/api/events/{event['id']}/state?since={version}")).json()
    [message] = changes["changes"]
    assert message["type"] == "slots.updated" and len(message["slots"]) == 2
    again = await client.post(path, json={"confirm": event["title"]}, headers=organizer.headers)
    assert again.json() == {"released": 0}
