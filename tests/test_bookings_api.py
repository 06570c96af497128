"""Bookings API: claim, every refusal, release, the organizer's list and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    return await make_event(client, organizer)


@pytest.fixture
async def slots(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> list[dict[str, Any]]:
    return await make_slots(client, organizer, event, pilot_slots(3))


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


async def snapshot(db: Database, client: httpx.AsyncClient, event_id: int) -> tuple[Any, ...]:
    """What a refused request must leave unchanged."""
    detail = (await client.get(f"/api/events/{event_id}")).json()
    return (
        await count(db, "bookings"),
        await count(db, "audit_logs"),
        detail.get("version"),
        [s.get("booking") for s in detail.get("slots", [])],
    )


async def claim(
    client: httpx.AsyncClient, slot: dict[str, Any], callsign: str = "BAW123", **extra: Any
) -> httpx.Response:
    return await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign, **extra))


async def release(
    client: httpx.AsyncClient, booking_id: int, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(f"/api/bookings/{booking_id}/release", headers=headers or {})


# --- claim ------------------------------------------------------------------------------------


async def test_claim_returns_the_booking_and_a_manage_token(
    client: httpx.AsyncClient, event: dict[str, Any], slots: list[dict[str, Any]]
) -> None:
    before = datetime.now(UTC)
    response = await claim(client, slots[0], " baw123 ", name="  Jane \t Doe  ", email="J@X.org")
    assert response.status_code == 201, response.text
    booking = response.json()
    assert set(booking) == {
        "id",
        "slot_id",
        "event_id",
        "status",
        "pilot_callsign",
        "pilot_name",
        "claimed_at",
        "manage_token",
    }
    assert booking["slot_id"] == slots[0]["id"]
    assert booking["event_id"] == event["id"]
    assert booking["status"] == "claimed"
    assert booking["pilot_callsign"] == "BAW123"
    assert booking["pilot_name"] == "Jane Doe"
    assert len(booking["manage_token"]) >= 32
    claimed_at = datetime.fromisoformat(booking["claimed_at"])
    assert claimed_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= claimed_at <= datetime.now(UTC) + timedelta(seconds=5)


async def test_second_claim_on_a_slot_is_slot_taken(
    client: httpx.AsyncClient, db: Database, event: dict[str, Any], slots: list[dict[str, Any]]
) -> None:
    assert (await claim(client, slots[0], "BAW1")).status_code == 201
    before = await snapshot(db, client, event["id"])
    response = await claim(client, slots[0], "DLH2")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_taken"
    assert "BAW1" in body["detail"]
    assert await snapshot(db, client, event["id"]) == before


async def test_one_claim_per_callsign_and_event(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    assert (await claim(client, slots[0], "baw1")).status_code == 201
    before = await snapshot(db, client, event["id"])
    for callsign in ("BAW1", "baw1", " Baw1 "):
        response = await claim(client, slots[1], callsign)
        assert response.status_code == 409, callsign
        assert response.json()["code"] == "callsign_taken"
        assert slots[0]["position_name"] in response.json()["detail"]
    assert await snapshot(db, client, event["id"]) == before

    # The same callsign may book in another event.
    other_event = await make_event(client, organizer, title="Another night")
    [other_slot] = await make_slots(client, organizer, other_event, pilot_slots(1))
    assert (await claim(client, other_slot, "BAW1")).status_code == 201


async def test_locked_slot_is_refused(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    [slot] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", "is_locked": True}]
    )
    before = await snapshot(db, client, event["id"])
    response = await claim(client, slot)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_locked"
    assert "EGLL_TWR" in response.json()["detail"]
    assert await snapshot(db, client, event["id"]) == before


@pytest.mark.parametrize(
    ("window", "code"),
    [
        ({"booking_opens_at": timedelta(hours=1)}, "booking_not_open"),
        ({"booking_closes_at": timedelta(hours=-1)}, "booking_closed"),
        (
            {"booking_opens_at": timedelta(days=-2), "booking_closes_at": timedelta(days=-1)},
            "booking_closed",
        ),
        (
            {"start_datetime": timedelta(hours=-5), "end_datetime": timedelta(hours=-1)},
            "booking_closed",
        ),
    ],
    ids=["not-open-yet", "closed", "window-passed", "event-over"],
)
async def test_booking_window_is_enforced(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    window: dict[str, timedelta],
    code: str,
) -> None:
    now = datetime.now(UTC)
    event = await make_event(
        client, organizer, **{k: (now + v).isoformat() for k, v in window.items()}
    )
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    before = await snapshot(db, client, event["id"])
    response = await claim(client, slot)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == code
    assert await snapshot(db, client, event["id"]) == before


async def test_open_booking_window_accepts_claims(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    now = datetime.now(UTC)
    event = await make_event(
        client,
        organizer,
        booking_opens_at=(now - timedelta(hours=1)).isoformat(),
        booking_closes_at=(now + timedelta(hours=1)).isoformat(),
    )
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    assert (await claim(client, slot)).status_code == 201


@pytest.mark.parametrize("status", ["draft", "cancelled"])
async def test_unpublished_event_takes_no_bookings(
    client: httpx.AsyncClient, db: Database, organizer: Account, status: str
) -> None:
    event = await make_event(client, organizer)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    patched = await client.patch(
        f"/api/events/{event['id']}", json={"status": status}, headers=organizer.headers
    )
    assert patched.status_code == 200
    before = (await count(db, "bookings"), await count(db, "audit_logs"))
    for headers in ({}, organizer.headers):
        response = await client.post(
            f"/api/slots/{slot['id']}/book", json=booking_body(), headers=headers
        )
        assert response.status_code == 409
        assert response.json()["code"] == "event_not_published"
    assert (await count(db, "bookings"), await count(db, "audit_logs")) == before


async def test_unknown_slot_is_404(client: httpx.AsyncClient, db: Database) -> None:
    response = await claim(client, {"id": 99999})
    assert response.status_code == 404
    assert response.json()["code"] == "slot_not_found"
    assert await count(db, "bookings") == 0


async def test_bad_claims_are_422(
    client: httpx.AsyncClient, db: Database, event: dict[str, Any], slots: list[dict[str, Any]]
) -> None:
    cases = {
        "callsign-short": booking_body("BA"),
        "callsign-long": booking_body("ABCDEFGHIJK"),
        "callsign-dash": booking_body("BAW-123"),
        "callsign-space": booking_body("BAW 123"),
        "callsign-empty": booking_body(""),
        "name-blank": booking_body("BAW123", "   "),
        "name-long": booking_body("BAW123", "x" * 101),
        "email-bad": booking_body("BAW123", email="not-an-email"),
        "email-no-domain": booking_body("BAW123", email="jane@"),
        "notes-long": booking_body("BAW123", notes="n" * 501),
        "name-nul": booking_body("BAW123", "Jane\x00Doe"),
        "notes-nul": booking_body("BAW123", notes="nul\x00"),
        "no-name": {"pilot_callsign": "BAW123"},
        "no-callsign": {"pilot_name": "Jane Doe"},
        "not-an-object": ["BAW123"],
    }
    before = await snapshot(db, client, event["id"])
    for case, body in cases.items():
        response = await client.post(f"/api/slots/{slots[0]['id']}/book", json=body)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
    assert await snapshot(db, client, event["id"]) == before


async def test_blank_email_counts_as_none(
    client: httpx.AsyncClient,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    assert (await claim(client, slots[0], email="  ")).status_code == 201
    [booking] = (
        await client.get(f"/api/events/{event['id']}/bookings", headers=organizer.headers)
    ).json()
    assert booking["email"] is None


# --- release ----------------------------------------------------------------------------------


async def test_release_with_the_manage_token_frees_the_slot_at_once(
    client: httpx.AsyncClient, db: Database, event: dict[str, Any], slots: list[dict[str, Any]]
) -> None:
    booking = (await claim(client, slots[0], "BAW1")).json()
    token = {"X-Manage-Token": booking["manage_token"]}

    response = await release(client, booking["id"], token)
    assert response.status_code == 200, response.text
    released = response.json()
    assert released["id"] == booking["id"]
    assert released["status"] == "released"
    assert "manage_token" not in released
    [slot] = [
        s
        for s in (await client.get(f"/api/events/{event['id']}")).json()["slots"]
        if s["id"] == slots[0]["id"]
    ]
    assert slot["booking"] is None

    # The slot and the callsign are free again immediately.
    again = await claim(client, slots[0], "BAW1")
    assert again.status_code == 201, again.text
    assert (await claim(client, slots[1], "DLH9")).status_code == 201

    before = await snapshot(db, client, event["id"])
    response = await release(client, booking["id"], token)
    assert response.status_code == 409
    assert response.json()["code"] == "already_released"
    assert await snapshot(db, client, event["id"]) == before


async def test_release_refusals(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    booking = (await claim(client, slots[0])).json()
    other_booking = (await claim(client, slots[1], "DLH1")).json()
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    other = await make_account(db, client, email="other@example.com")
    before = await snapshot(db, client, event["id"])

    refusals = [
        ({"X-Manage-Token": "wrong"}, 403, "bad_token"),
        ({"X-Manage-Token": other_booking["manage_token"]}, 403, "bad_token"),
        ({"X-Manage-Token": ""}, 403, "bad_token"),
        ({}, 401, "not_authenticated"),
        (other.headers, 403, "not_organizer"),
        (member.headers, 403, "not_organizer"),
        ({"Authorization": "Bearer garbage"}, 401, "not_authenticated"),
    ]
    for headers, status, code in refusals:
        response = await release(client, booking["id"], headers)
        assert (response.status_code, response.json()["code"]) == (status, code), headers
    assert await snapshot(db, client, event["id"]) == before

    response = await release(client, 99999, {"X-Manage-Token": booking["manage_token"]})
    assert response.status_code == 404
    assert response.json()["code"] == "booking_not_found"


async def test_organizer_and_admin_can_release(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    slots: list[dict[str, Any]],
) -> None:
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    first = (await claim(client, slots[0], "BAW1")).json()
    second = (await claim(client, slots[1], "BAW2")).json()
    response = await release(client, first["id"], organizer.headers)
    assert response.status_code == 200
    assert response.json()["status"] == "released"
    response = await release(client, second["id"], admin.headers)
    assert response.status_code == 200
    assert (await release(client, second["id"], admin.headers)).status_code == 409


# --- the organizer's list ---------------------------------------------------------------------


async def test_bookings_list_shows_contact_details_to_the_organizer(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    first = (await claim(client, slots[0], "BAW1", email="Jane@Example.COM", notes="VFR")).json()
    second = (await claim(client, slots[1], "BAW2")).json()
    await release(client, first["id"], {"X-Manage-Token": first["manage_token"]})
    url = f"/api/events/{event['id']}/bookings"

    response = await client.get(url, headers=organizer.headers)
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [first["id"], second["id"]]
    assert rows[0]["email"] == "jane@example.com"
    assert rows[0]["notes"] == "VFR"
    assert rows[0]["status"] == "released"
    assert datetime.fromisoformat(rows[0]["released_at"]) >= datetime.fromisoformat(
        first["claimed_at"]
    )
    assert (rows[1]["email"], rows[1]["released_at"], rows[1]["status"]) == (None, None, "claimed")
    for row in rows:
        assert "manage_token" not in row
        assert "manage_token_hash" not in row
        assert {"slot_id", "event_id", "pilot_callsign", "pilot_name", "claimed_at"} <= set(row)

    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    assert (await client.get(url, headers=admin.headers)).status_code == 200
    other = await make_account(db, client, email="other@example.com")
    response = await client.get(url, headers=other.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_organizer"
    assert (await client.get(url)).status_code == 401
    response = await client.get("/api/events/99999/bookings", headers=organizer.headers)
    assert response.status_code == 404


# --- audit ------------------------------------------------------------------------------------


async def test_every_change_is_audited_newest_first(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    [slot, spare] = await make_slots(client, organizer, event, pilot_slots(2))
    booking = (await claim(client, slot, "BAW1")).json()
    await release(client, booking["id"], {"X-Manage-Token": booking["manage_token"]})
    booking = (await claim(client, slot, "BAW2")).json()
    await release(client, booking["id"], organizer.headers)
    await client.patch(
        f"/api/slots/{slot['id']}", json={"is_locked": True}, headers=organizer.headers
    )
    await client.delete(f"/api/slots/{spare['id']}", headers=organizer.headers)
    await client.patch(
        f"/api/events/{event['id']}", json={"title": "Renamed"}, headers=organizer.headers
    )
    # Refused requests leave no trace.
    await claim(client, slot, "BAW3")
    await client.patch(
        f"/api/events/{event['id']}", json={"title": None}, headers=organizer.headers
    )

    url = f"/api/events/{event['id']}/audit"
    response = await client.get(url, headers=organizer.headers)
    assert response.status_code == 200
    entries = response.json()
    assert [e["action_type"] for e in entries] == [
        "event.updated",
        "slot.deleted",
        "slot.updated",
        "booking.released",
        "booking.claimed",
        "booking.released",
        "booking.claimed",
        "slots.created",
        "event.created",
    ]
    assert all(e["event_id"] == event["id"] for e in entries)
    by_organizer = f"user:{organizer.id} Org"  # the name, never the email
    assert [e["actor"] for e in entries[:5]] == [by_organizer] * 4 + ["booker:BAW2"]
    assert [e["user_id"] for e in entries[3:5]] == [organizer.id, None]
    assert entries[5]["actor"] == "booker:BAW1"
    assert entries[6]["payload"]["callsign"] == "BAW1"
    assert entries[6]["payload"]["slot_id"] == slot["id"]
    assert entries[0]["payload"] == {"title": "Renamed"}
    assert entries[2]["payload"]["changes"] == {"is_locked": True}
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)

    page = (
        await client.get(url, params={"limit": 2, "offset": 1}, headers=organizer.headers)
    ).json()
    assert [e["id"] for e in page] == ids[1:3]

    other = await make_account(db, client, email="other@example.com")
    response = await client.get(url, headers=other.headers)
    assert response.status_code == 403
    assert (await client.get(url)).status_code == 401


async def test_a_signed_in_claim_is_audited_as_that_user(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    member = await make_account(db, client, email="pilot@example.com", role=Role.MEMBER)
    response = await client.post(
        f"/api/slots/{slots[0]['id']}/book", json=booking_body(), headers=member.headers
    )
    assert response.status_code == 201
    [entry, *_] = (
        await client.get(f"/api/events/{event['id']}/audit", headers=organizer.headers)
    ).json()
    assert entry["action_type"] == "booking.claimed"
    assert (entry["user_id"], entry["actor"]) == (member.id, f"user:{member.id} Pilot")


async def wait_until_blocked(
    db: Database, holder: AsyncConnection, task: asyncio.Task[Any]
) -> None:
    """PostgreSQL: return once some session waits for a lock `holder` has (or `task` ended)."""
    pid = (await holder.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
    async with db.engine.connect() as watcher:
        for _ in range(1_000):
            waiting = await watcher.exec_driver_sql(
                f"SELECT count(*) FROM pg_stat_activity WHERE {pid} = ANY(pg_blocking_pids(pid))"
            )
            if waiting.scalar_one() or task.done():
                return
            await asyncio.sleep(0.005)


async def test_claim_racing_a_slot_deletion_is_404(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    """The slot is deleted while a claim for it is in flight.

    On PostgreSQL the claim has read the slot and its insert waits on the deleting transaction,
    then fails the foreign key; on SQLite the claim waits for the write lock, then finds no slot.
    """
    async with db.engine.connect() as deleter:
        await deleter.exec_driver_sql(f"DELETE FROM slots WHERE id = {slots[0]['id']}")
        claiming = asyncio.create_task(claim(client, slots[0]))
        if not db.is_sqlite:
            await wait_until_blocked(db, deleter, claiming)
        await deleter.commit()
    response = await claiming
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "slot_not_found"
    assert await count(db, "bookings") == 0
