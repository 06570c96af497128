"""The booking rules under real concurrency: real server processes (2 workers), real databases.

Holds, promotions, the booking window's edge and per-person limits, each raced from many
connections at once; the database's guards decide every outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from skyslots.db import utcnow
from skyslots.models import Booking, BookingStatus, WaitlistEntry
from tests.helpers import booking_body, make_event, make_slots, pilot_slots
from tests.test_concurrency import (
    ENGINES,
    Live,
    assert_no_server_errors,
    live_stack,
    outcome,
    storm,
)

HOLDERS = 200
CLAIMERS = 50


@pytest.fixture(scope="module", params=ENGINES)
async def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    async with live_stack(request.param, tmp_path_factory.mktemp("rules")) as stack:
        yield stack


async def fresh(live: Live, slots: int, **event: Any) -> tuple[dict[str, Any], list[dict]]:
    created = await make_event(live.http, live.organizer, **event)
    return created, await make_slots(live.http, live.organizer, created, pilot_slots(slots))


async def rows(live: Live, model: Any, *conditions: Any) -> list[Any]:
    async def read(session: Any) -> list[Any]:
        return list(await session.scalars(select(model).where(*conditions)))

    return await live.db.read(read)


async def join(live: Live, event: dict[str, Any], callsign: str, **target: Any) -> dict[str, Any]:
    response = await live.http.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": callsign, "pilot_callsign": callsign, **target},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_many_clients_holding_one_slot_one_wins(live: Live) -> None:
    _, [slot] = await fresh(live, 1)
    responses = await storm(live.http, [(f"/api/slots/{slot['id']}/hold", {})] * HOLDERS)
    assert_no_server_errors(responses)
    assert outcome(responses) == {(201, None): 1, (409, "slot_held"): HOLDERS - 1}
    held = await rows(live, Booking, Booking.slot_id == slot["id"])
    assert [b.status for b in held] == [BookingStatus.HELD]


async def test_holds_and_claims_racing_leave_one_occupant(live: Live) -> None:
    _, [slot] = await fresh(live, 1)
    path = f"/api/slots/{slot['id']}"
    requests = [
        (f"{path}/hold", {}) if i % 2 else (f"{path}/book", booking_body(f"MIX{i:03d}"))
        for i in range(100)
    ]
    responses = await storm(live.http, requests)
    assert_no_server_errors(responses)
    assert [r.status_code for r in responses].count(201) == 1
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {
        "slot_held",
        "slot_taken",
    }
    occupying = await rows(
        live, Booking, Booking.slot_id == slot["id"], Booking.status.in_(["held", "claimed"])
    )
    assert len(occupying) == 1


async def test_a_hold_expiring_while_others_claim(live: Live) -> None:
    _, [slot] = await fresh(live, 1, hold_seconds=1)
    held = await live.http.post(f"/api/slots/{slot['id']}/hold")
    expires_at = datetime.fromisoformat(held.json()["expires_at"])
    path = f"/api/slots/{slot['id']}/book"

    async def claim_at(offset: float, number: int) -> httpx.Response:
        delay = (expires_at - utcnow()).total_seconds() + offset
        await asyncio.sleep(max(0.0, delay))
        return await live.http.post(path, json=booking_body(f"EXP{number:03d}"))

    # Claims spread from 0.2 s before the expiry to 0.3 s after it.
    responses = await asyncio.gather(*(claim_at(-0.2 + i * 0.005, i) for i in range(100)))
    assert_no_server_errors(responses)
    winners = [r.json() for r in responses if r.status_code == 201]
    assert len(winners) == 1
    assert datetime.fromisoformat(winners[0]["claimed_at"]) >= expires_at
    refused = {r.json()["code"] for r in responses if r.status_code == 409}
    assert refused <= {"slot_held", "slot_taken"}
    statuses = sorted(b.status for b in await rows(live, Booking, Booking.slot_id == slot["id"]))
    assert statuses == ["claimed", "expired"]


async def together(*calls: Callable[[], Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """Start every call at one instant (all wait at one gate first)."""
    gate = asyncio.Event()

    async def one(call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        await gate.wait()
        return await call()

    tasks = [asyncio.create_task(one(call)) for call in calls]
    await asyncio.sleep(0.05)
    gate.set()
    return await asyncio.gather(*tasks)


def releasing(live: Live, booking: dict[str, Any]) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: live.http.post(
        f"/api/bookings/{booking['id']}/release",
        headers={"X-Manage-Token": booking["manage_token"]},
    )


def claiming(
    live: Live, slot: dict[str, Any], callsign: str
) -> Callable[[], Awaitable[httpx.Response]]:
    return lambda: live.http.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign))


async def test_release_with_claimers_racing_goes_to_the_waiter(live: Live) -> None:
    for round_ in range(3):
        event, [slot] = await fresh(live, 1)
        booking = (await claiming(live, slot, f"OWNER{round_}")()).json()
        waiter = await join(live, event, f"WAITER{round_}", slot_id=slot["id"])

        released, *claims = await together(
            releasing(live, booking),
            *(claiming(live, slot, f"SN{round_}P{i:02d}") for i in range(CLAIMERS)),
        )

        assert released.status_code == 200, released.text
        assert_no_server_errors(claims)
        assert {r.status_code for r in claims} == {409}
        [entry] = await rows(live, WaitlistEntry, WaitlistEntry.id == waiter["id"])
        assert entry.status == "offered"
        occupant = await rows(
            live, Booking, Booking.slot_id == slot["id"], Booking.status == BookingStatus.OFFERED
        )
        assert [b.pilot_callsign for b in occupant] == [f"WAITER{round_}"]


async def test_simultaneous_frees_promote_each_waiter_once(live: Live) -> None:
    for round_ in range(3):
        event, slots = await fresh(live, 3)
        bookings = []
        for number, slot in enumerate(slots):
            response = await live.http.post(
                f"/api/slots/{slot['id']}/book", json=booking_body(f"R{round_}B{number}")
            )
            bookings.append(response.json())
        first = await join(live, event, f"R{round_}W1")  # event-wide queue
        second = await join(live, event, f"R{round_}W2")

        responses = await together(*(releasing(live, b) for b in bookings))

        assert [r.status_code for r in responses] == [200, 200, 200]
        entries = await rows(live, WaitlistEntry, WaitlistEntry.event_id == event["id"])
        assert {e.id: e.status for e in entries} == {
            first["id"]: "offered",
            second["id"]: "offered",
        }
        offers = await rows(
            live, Booking, Booking.event_id == event["id"], Booking.status == BookingStatus.OFFERED
        )
        assert sorted(b.pilot_callsign for b in offers) == [f"R{round_}W1", f"R{round_}W2"]
        assert len({b.slot_id for b in offers}) == 2  # two slots, never one person twice


async def test_a_claim_at_the_instant_bookings_close(live: Live) -> None:
    closes_at = (utcnow() + timedelta(seconds=1.5)).replace(microsecond=0)
    _, slots = await fresh(live, 100, booking_closes_at=closes_at.isoformat())

    async def claim_at(offset: float, number: int) -> httpx.Response:
        await asyncio.sleep(max(0.0, (closes_at - utcnow()).total_seconds() + offset))
        return await live.http.post(
            f"/api/slots/{slots[number]['id']}/book", json=booking_body(f"EDGE{number:03d}")
        )

    responses = await asyncio.gather(*(claim_at(-0.25 + i * 0.005, i) for i in range(100)))
    assert_no_server_errors(responses)
    codes = outcome(responses)
    assert set(codes) <= {(201, None), (409, "booking_closed")}
    assert codes[(409, "booking_closed")] > 0
    claimed = await rows(live, Booking, Booking.event_id.is_not(None), Booking.status == "claimed")
    ours = [b for b in claimed if b.pilot_callsign.startswith("EDGE")]
    assert len(ours) == codes[(201, None)]
    assert all(b.claimed_at < closes_at for b in ours)


@pytest.mark.parametrize("limit", [1, 3])
async def test_the_email_limit_raced_from_many_connections(live: Live, limit: int) -> None:
    event, slots = await fresh(live, 60, max_slots_per_person=limit)
    email = f"racer{limit}@example.com"
    requests = [
        (
            f"/api/slots/{slot['id']}/book",
            booking_body(f"EM{limit}X{i:02d}", email=email.upper() if i % 2 else email),
        )
        for i, slot in enumerate(slots)
    ]
    responses = await storm(live.http, requests)
    assert_no_server_errors(responses)
    assert outcome(responses) == {(201, None): limit, (409, "limit_reached"): len(slots) - limit}

    async def count(session: Any) -> int:
        return await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(
                Booking.event_id == event["id"],
                Booking.status == BookingStatus.CLAIMED,
                func.lower(Booking.email) == email,
            )
        )

    assert await live.db.read(count) == limit
