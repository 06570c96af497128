"""Waitlists: joining, offers and their deadline, promotion in the freeing transaction, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from skyslots.bookings.release import booking_release
from skyslots.db import Database, utcnow
from skyslots.holds.sweep import sweep_once
from skyslots.models import Booking, OutboxMessage, WaitlistEntry
from skyslots.models.event import Event
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def setup(
    client: httpx.AsyncClient, organizer: Account, count: int = 2, **event: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    created = await make_event(client, organizer, **event)
    return created, await make_slots(client, organizer, created, pilot_slots(count))


async def book(client: httpx.AsyncClient, slot: dict[str, Any], callsign: str) -> dict[str, Any]:
    response = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign))
    assert response.status_code == 201, response.text
    return response.json()


async def join(
    client: httpx.AsyncClient, event: dict[str, Any], callsign: str, **target: Any
) -> httpx.Response:
    body = {"pilot_name": f"Pilot {callsign}", "pilot_callsign": callsign, **target}
    return await client.post(f"/api/events/{event['id']}/waitlist", json=body)


async def release(client: httpx.AsyncClient, booking: dict[str, Any]) -> None:
    response = await client.post(
        f"/api/bookings/{booking['id']}/release",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert response.status_code == 200, response.text


async def entry(client: httpx.AsyncClient, joined: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(
        f"/api/waitlist/{joined['id']}", headers={"X-Manage-Token": joined["manage_token"]}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def slot_shown(client: httpx.AsyncClient, event: dict[str, Any], slot_id: int) -> dict:
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    return next(s for s in detail["slots"] if s["id"] == slot_id)


async def test_joining_a_slot_line(client: httpx.AsyncClient, organizer: Account) -> None:
    event, [slot, _] = await setup(client, organizer)
    free = await join(client, event, "DLH1", slot_id=slot["id"])
    assert free.status_code == 409 and free.json()["code"] == "slot_free"
    await book(client, slot, "BAW1")
    first = await join(client, event, "DLH1", slot_id=slot["id"], email="a@example.com")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "waiting" and first.json()["position"] == 1
    second = await join(client, event, "DLH2", slot_id=slot["id"])
    assert second.json()["position"] == 2
    duplicate = await join(client, event, "dlh1", slot_id=slot["id"])
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "already_waiting"
    booked = await join(client, event, "BAW1", slot_id=slot["id"])
    assert booked.status_code == 409 and booked.json()["code"] == "already_booked"
    both = await join(client, event, "DLH3", slot_id=slot["id"], position_type="PILOT")
    assert both.status_code == 422
    other_event = await make_event(client, organizer)
    foreign = await join(client, other_event, "DLH4", slot_id=slot["id"])
    assert foreign.status_code == 404
    view = await entry(client, second.json())
    assert view["position"] == 2 and view["offer_expires_at"] is None
    wrong = await client.get(
        f"/api/waitlist/{first.json()['id']}", headers={"X-Manage-Token": "nope"}
    )
    assert wrong.status_code == 403


async def test_a_release_offers_the_slot_to_the_first_waiter(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    event, [slot, _] = await setup(client, organizer)
    booking = await book(client, slot, "BAW1")
    first = (await join(client, event, "DLH1", slot_id=slot["id"], email="Wait@Example.com")).json()
    second = (await join(client, event, "DLH2", slot_id=slot["id"])).json()
    await release(client, booking)

    offered = await entry(client, first)
    assert offered["status"] == "offered" and offered["position"] is None
    assert offered["offer_expires_at"] is not None
    assert (await entry(client, second))["position"] == 1
    shown = await slot_shown(client, event, slot["id"])
    assert shown["status"] == "held" and shown["booking"] is None
    refused = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("KLM1"))
    assert refused.status_code == 409 and refused.json()["code"] == "slot_held"
    assert "waitlist" in refused.json()["detail"]

    async def outbox(session: Any) -> list[tuple[str, str, str]]:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.target, OutboxMessage.dedupe_key)
        )
        return list(rows.all())

    assert await db.read(outbox) == [
        (
            "waitlist.offered",
            "wait@example.com",
            f"waitlist.offered:{first['id']}:{offered['booking_id']}",
        )
    ]

    accepted = await client.post(
        f"/api/waitlist/{first['id']}/accept", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["pilot_callsign"] == "DLH1"
    assert accepted.json()["id"] == offered["booking_id"]
    assert (await entry(client, first))["status"] == "promoted"
    shown = await slot_shown(client, event, slot["id"])
    assert shown["status"] == "taken" and shown["booking"]["pilot_callsign"] == "DLH1"
    again = await client.post(
        f"/api/waitlist/{first['id']}/accept", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert again.status_code == 409
    # The waitlist token manages the booking it became; releasing it offers the next waiter.
    await release(client, {"id": offered["booking_id"], "manage_token": first["manage_token"]})
    assert (await entry(client, second))["status"] == "offered"


async def test_claim_mode_promotes_straight_into_a_booking(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [slot] = await setup(client, organizer, count=1, waitlist_mode="claim")
    booking = await book(client, slot, "BAW1")
    waiter = (await join(client, event, "DLH1")).json()  # any slot of the event
    await release(client, booking)
    view = await entry(client, waiter)
    assert view["status"] == "promoted" and view["booking_id"] is not None
    shown = await slot_shown(client, event, slot["id"])
    assert shown["status"] == "taken" and shown["booking"]["pilot_callsign"] == "DLH1"


async def test_declining_passes_the_offer_on(client: httpx.AsyncClient, organizer: Account) -> None:
    event, [slot] = await setup(client, organizer, count=1)
    booking = await book(client, slot, "BAW1")
    first = (await join(client, event, "DLH1", slot_id=slot["id"])).json()
    second = (await join(client, event, "DLH2", position_type="PILOT")).json()
    await release(client, booking)
    declined = await client.delete(
        f"/api/waitlist/{first['id']}", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert declined.status_code == 204
    assert (await entry(client, first))["status"] == "left"
    assert (await entry(client, second))["status"] == "offered"


async def test_an_unused_offer_expires_and_passes_on(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    event, [slot, _] = await setup(client, organizer, offer_seconds=60)
    booking = await book(client, slot, "BAW1")
    first = (await join(client, event, "DLH1", slot_id=slot["id"])).json()
    second = (await join(client, event, "DLH2", slot_id=slot["id"])).json()
    await release(client, booking)
    deadline = (await entry(client, first))["offer_expires_at"]
    assert deadline is not None
    assert await sweep_once(db, now=utcnow() + timedelta(seconds=61)) == 1
    assert (await entry(client, first))["status"] == "expired"
    assert (await entry(client, second))["status"] == "offered"
    late = await client.post(
        f"/api/waitlist/{first['id']}/accept", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert late.status_code == 409


async def test_no_promotion_once_bookings_close(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    closes = utcnow() + timedelta(hours=1)
    event, [slot, _] = await setup(client, organizer, booking_closes_at=closes.isoformat())
    booking = await book(client, slot, "BAW1")
    waiter = (await join(client, event, "DLH1", slot_id=slot["id"])).json()
    await db.transaction(
        booking_release,
        booking_id=booking["id"],
        manage_token=booking["manage_token"],
        user=None,
        now=closes + timedelta(seconds=1),
    )
    assert (await entry(client, waiter))["status"] == "waiting"


async def test_a_waiter_holding_a_claim_is_skipped(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [first_slot, second_slot] = await setup(client, organizer)
    taken = await book(client, first_slot, "BAW1")
    await book(client, second_slot, "KLM1")
    early = (await join(client, event, "DLH1")).json()
    late = (await join(client, event, "DLH2")).json()
    # DLH1 gets a slot some other way (an organizer assigns one) before the release.
    third_slot = (await make_slots(client, organizer, event, pilot_slots(1)))[0]
    assigned = await client.post(
        f"/api/slots/{third_slot['id']}/assign",
        json=booking_body("DLH1"),
        headers=organizer.headers,
    )
    assert assigned.status_code == 201, assigned.text
    await release(client, taken)
    assert (await entry(client, early))["status"] == "waiting"
    assert (await entry(client, late))["status"] == "offered"


async def test_waitlist_off_and_the_organizer_list(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    event, [slot, _] = await setup(client, organizer, waitlist_mode="off")
    await book(client, slot, "BAW1")
    refused = await join(client, event, "DLH1", slot_id=slot["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "waitlist_off"

    event, [slot, _] = await setup(client, organizer)
    await book(client, slot, "BAW1")
    await join(client, event, "DLH1", slot_id=slot["id"], email="dlh@example.com")
    path = f"/api/events/{event['id']}/waitlist"
    assert (await client.get(path)).status_code == 401
    stranger = await make_account(db, client, email="other@example.com")
    assert (await client.get(path, headers=stranger.headers)).status_code == 403
    listed = await client.get(path, headers=organizer.headers)
    assert listed.status_code == 200
    assert [(e["pilot_callsign"], e["email"]) for e in listed.json()] == [
        ("DLH1", "dlh@example.com")
    ]


async def test_leaving_the_line(
    client: httpx.AsyncClient, organizer: Account, db: Database
) -> None:
    event, [slot, _] = await setup(client, organizer)
    booking = await book(client, slot, "BAW1")
    waiter = (await join(client, event, "DLH1", slot_id=slot["id"])).json()
    left = await client.delete(
        f"/api/waitlist/{waiter['id']}", headers={"X-Manage-Token": waiter["manage_token"]}
    )
    assert left.status_code == 204
    await release(client, booking)
    assert (await entry(client, waiter))["status"] == "left"
    assert (await slot_shown(client, event, slot["id"]))["status"] == "free"

    async def rows(session: Any) -> int:
        return len(list(await session.scalars(select(Booking.id))))

    assert await db.read(rows) == 1
    assert WaitlistEntry and Event  # models are importable for the checks above
