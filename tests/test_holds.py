"""Holds: the API, the guard shared with claims, expiry decided at claim time, the sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.service import booking_claim
from skyslots.db import Database, utcnow
from skyslots.errors import Conflict
from skyslots.holds.service import hold_create
from skyslots.holds.sweep import sweep_once
from skyslots.models import AuditLog, Booking
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def other_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second visitor, from another address."""
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def setup(
    client: httpx.AsyncClient, organizer: Account, count: int = 3, **event: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    created = await make_event(client, organizer, **event)
    return created, await make_slots(client, organizer, created, pilot_slots(count))


async def hold(client: httpx.AsyncClient, slot: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/api/slots/{slot['id']}/hold")


async def public_slot(client: httpx.AsyncClient, event: dict[str, Any], slot_id: int) -> dict:
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    return next(s for s in detail["slots"] if s["id"] == slot_id)


async def test_a_hold_blocks_others_until_its_holder_books(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [slot, *_] = await setup(client, organizer)
    before = utcnow()
    response = await hold(client, slot)
    assert response.status_code == 201, response.text
    held = response.json()
    assert set(held) == {"hold_id", "slot_id", "event_id", "hold_token", "expires_at"}
    assert (held["slot_id"], held["event_id"]) == (slot["id"], event["id"])
    expires_at = datetime.fromisoformat(held["expires_at"])
    assert timedelta(seconds=299) <= expires_at - before <= timedelta(seconds=302)

    shown = await public_slot(other_client, event, slot["id"])
    assert shown["status"] == "held" and shown["booking"] is None
    assert datetime.fromisoformat(shown["expires_at"]) == expires_at
    assert held["hold_token"] not in str(shown)

    for refused in (
        await hold(other_client, slot),
        await other_client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH1")),
        await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH2")),
    ):
        assert refused.status_code == 409
        assert refused.json()["code"] == "slot_held"
        assert f"{expires_at:%H:%M:%S}z" in refused.json()["detail"]

    booked = await client.post(
        f"/api/slots/{slot['id']}/book",
        json=booking_body("BAW1", hold_token=held["hold_token"]),
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["id"] == held["hold_id"]
    assert booked.json()["manage_token"] != held["hold_token"]
    shown = await public_slot(other_client, event, slot["id"])
    assert shown["status"] == "taken" and shown["booking"]["pilot_callsign"] == "BAW1"
    assert shown["expires_at"] is None


async def test_a_wrong_or_foreign_hold_token_is_403(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    _, [first, second, third] = await setup(client, organizer)
    mine = (await hold(client, first)).json()
    other = (await hold(client, second)).json()
    for slot, token in (
        (first, "not-a-token"),
        (first, other["hold_token"]),
        (third, mine["hold_token"]),
    ):
        response = await client.post(
            f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", hold_token=token)
        )
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "bad_hold_token"


async def test_cancel_frees_the_slot(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [slot, *_] = await setup(client, organizer)
    held = (await hold(client, slot)).json()
    path = f"/api/holds/{held['hold_id']}"
    assert (await client.delete(path, headers={"X-Hold-Token": "wrong"})).status_code == 403
    assert (await client.delete(path)).status_code == 422  # the header is required
    assert (
        await client.delete("/api/holds/999999", headers={"X-Hold-Token": "x"})
    ).status_code == 404
    assert (await public_slot(client, event, slot["id"]))["status"] == "held"

    response = await client.delete(path, headers={"X-Hold-Token": held["hold_token"]})
    assert response.status_code == 204
    assert (await public_slot(client, event, slot["id"]))["status"] == "free"
    again = await client.delete(path, headers={"X-Hold-Token": held["hold_token"]})
    assert again.status_code == 204  # already given up: nothing to do
    booked = await other_client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH1"))
    assert booked.status_code == 201


async def test_one_address_holds_at_most_two_slots(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, organizer: Account
) -> None:
    _, slots = await setup(client, organizer, count=4)
    assert (await hold(client, slots[0])).status_code == 201
    second = (await hold(client, slots[1])).json()
    third = await hold(client, slots[2])
    assert third.status_code == 409 and third.json()["code"] == "hold_limit"
    assert (await hold(other_client, slots[2])).status_code == 201
    # Giving one up (here: booking it) makes room again.
    booked = await client.post(
        f"/api/slots/{slots[1]['id']}/book",
        json=booking_body("BAW1", hold_token=second["hold_token"]),
    )
    assert booked.status_code == 201
    assert (await hold(client, slots[3])).status_code == 201


async def test_holds_off_and_bounds(client: httpx.AsyncClient, organizer: Account) -> None:
    event, [slot, *_] = await setup(client, organizer, hold_seconds=0)
    response = await hold(client, slot)
    assert response.status_code == 409 and response.json()["code"] == "holds_disabled"
    booked = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert booked.status_code == 201
    too_long = await client.patch(
        f"/api/events/{event['id']}", json={"hold_seconds": 3601}, headers=organizer.headers
    )
    assert too_long.status_code == 422
    unknown = await client.post("/api/slots/999999/hold")
    assert unknown.status_code == 404


async def test_holds_follow_the_booking_window(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    opens = (utcnow() + timedelta(hours=1)).isoformat()
    _, [slot, *_] = await setup(client, organizer, booking_opens_at=opens)
    response = await hold(client, slot)
    assert response.status_code == 409 and response.json()["code"] == "booking_not_open"


async def test_an_expired_hold_blocks_nobody_before_any_sweep(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    """Expiry is decided in the claim's own transaction (an injected clock, no sleeping)."""
    _, [slot, *_] = await setup(client, organizer)
    start = utcnow()
    held = await db.transaction(hold_create, slot_id=slot["id"], client_key="k1", now=start)
    data = BookingCreate(pilot_name="Jane", pilot_callsign="DLH1")
    with pytest.raises(Conflict) as refused:
        await db.transaction(
            booking_claim, slot_id=slot["id"], data=data, now=start + timedelta(seconds=299)
        )
    assert refused.value.code == "slot_held"
    claim = await db.transaction(booking_claim, slot_id=slot["id"], data=data, now=held.expires_at)
    assert claim.pilot_callsign == "DLH1"

    async def statuses(session: Any) -> dict[int, str]:
        rows = await session.execute(select(Booking.id, Booking.status).order_by(Booking.id))
        return dict(rows.all())

    assert await db.read(statuses) == {held.hold_id: "expired", claim.id: "claimed"}


async def test_the_holder_who_is_late_books_a_still_free_slot(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    _, [slot, *_] = await setup(client, organizer)
    start = utcnow()
    held = await db.transaction(hold_create, slot_id=slot["id"], client_key="k1", now=start)
    late = held.expires_at + timedelta(seconds=5)
    assert await sweep_once(db, now=late) == 1
    claim = await db.transaction(
        booking_claim,
        slot_id=slot["id"],
        data=BookingCreate(pilot_name="Jane", pilot_callsign="BAW1"),
        hold_token=held.hold_token,
        now=late,
    )
    assert claim.id != held.hold_id


async def test_the_sweep_frees_and_announces_expired_holds(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    event, [slot, *_] = await setup(client, organizer)
    held = await db.transaction(hold_create, slot_id=slot["id"], client_key="k1")
    state = (await client.get(f"/api/events/{event['id']}/state")).json()
    version = state["version"]
    assert await sweep_once(db, now=held.expires_at - timedelta(seconds=1)) == 0
    assert await sweep_once(db, now=held.expires_at) == 1
    assert await sweep_once(db, now=held.expires_at) == 0  # once only
    changes = (await client.get(f"/api/events/{event['id']}/state?since={version}")).json()
    assert changes["type"] == "changes"
    [message] = changes["changes"]
    assert message["type"] == "slot.updated" and message["change"] == "hold.expired"
    assert message["version"] == version + 1
    assert message["slot"]["status"] == "free"

    async def actions(session: Any) -> list[str]:
        return list(await session.scalars(select(AuditLog.action_type).order_by(AuditLog.id)))

    assert (await db.read(actions))[-2:] == ["hold.created", "hold.expired"]


async def test_a_short_hold_runs_out_end_to_end(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient, organizer: Account
) -> None:
    _, [slot, *_] = await setup(client, organizer, hold_seconds=2)  # 2 s: room for a slow claim
    assert (await hold(client, slot)).status_code == 201
    refused = await other_client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH1"))
    assert refused.json()["code"] == "slot_held"
    await asyncio.sleep(2.1)
    booked = await other_client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH1"))
    assert booked.status_code == 201, booked.text


async def test_the_roster_message_never_carries_the_token_or_address(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [slot, *_] = await setup(client, organizer)
    version = (await client.get(f"/api/events/{event['id']}/state")).json()["version"]
    held = (await hold(client, slot)).json()
    changes = (await client.get(f"/api/events/{event['id']}/state?since={version}")).json()
    [message] = changes["changes"]
    assert message["change"] == "hold.created"
    assert message["slot"]["status"] == "held"
    shown = datetime.fromisoformat(message["slot"]["expires_at"])
    assert shown == datetime.fromisoformat(held["expires_at"])
    text = str(message)
    assert held["hold_token"] not in text and "127.0.0.1" not in text and "client" not in text
