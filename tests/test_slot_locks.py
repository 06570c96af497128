"""POST /api/events/{id}/slots/lock: bulk lock and unlock, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from skyslots.db import Database
from skyslots.models import AuditLog, Role
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_support import LiveApp, live_app, of_type, recv_json, recv_until
from tests.realtime_support import ws_connect as connect


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
    return await make_slots(client, organizer, event, pilot_slots(4))


async def lock(
    client: httpx.AsyncClient, event: dict[str, Any], ids: Any, locked: Any, who: Account | None
) -> httpx.Response:
    return await client.post(
        f"/api/events/{event['id']}/slots/lock",
        json={"slot_ids": ids, "locked": locked},
        headers=who.headers if who else {},
    )


async def detail(client: httpx.AsyncClient, event: dict[str, Any]) -> dict[str, Any]:
    return (await client.get(f"/api/events/{event['id']}")).json()


async def locked_ids(client: httpx.AsyncClient, event: dict[str, Any]) -> set[int]:
    return {s["id"] for s in (await detail(client, event))["slots"] if s["is_locked"]}


async def audit_rows(db: Database, action: str) -> list[AuditLog]:
    async def read(session: Any) -> list[AuditLog]:
        rows = await session.execute(select(AuditLog).where(AuditLog.action_type == action))
        return list(rows.scalars())

    return await db.read(read)


async def test_lock_and_unlock_count_only_the_slots_that_change(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    ids = [s["id"] for s in slots]
    single = await client.patch(
        f"/api/slots/{ids[0]}", json={"is_locked": True}, headers=organizer.headers
    )
    assert single.status_code == 200
    claim = await client.post(f"/api/slots/{ids[2]}/book", json=booking_body("BAW7"))
    assert claim.status_code == 201  # a held slot can be locked too; the booking stays
    version = (await detail(client, event))["version"]

    response = await lock(client, event, [ids[2], ids[0], ids[1], ids[1]], True, organizer)
    assert response.status_code == 200, response.text
    assert response.json() == {"updated": 2}
    assert await locked_ids(client, event) == {ids[0], ids[1], ids[2]}
    after = await detail(client, event)
    assert after["version"] == version + 1  # one change, one version
    assert after["slots"][2]["booking"]["pilot_callsign"] == "BAW7"
    [audit] = await audit_rows(db, "slots.locked")
    assert [s["id"] for s in audit.payload["slots"]] == [ids[1], ids[2]]
    assert audit.payload["slots"][0]["label"] == slots[1]["position_name"]

    polled = await client.get(f"/api/events/{event['id']}/state", params={"since": version})
    [change] = polled.json()["changes"]
    assert change["type"] == "slots.updated" and change["change"] == "slots.updated"
    assert change["version"] == version + 1
    assert change["slots"] == [after["slots"][1], after["slots"][2]]  # the full public state

    response = await lock(client, event, ids, False, organizer)
    assert response.json() == {"updated": 3}
    assert await locked_ids(client, event) == set()
    assert len(await audit_rows(db, "slots.unlocked")) == 1

    again = await lock(client, event, ids, False, organizer)
    assert again.status_code == 200 and again.json() == {"updated": 0}
    assert (await detail(client, event))["version"] == version + 2  # nothing changed, no message
    assert len(await audit_rows(db, "slots.unlocked")) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"slot_ids": [], "locked": True},
        {"slot_ids": list(range(1, 2_002)), "locked": True},
        {"slot_ids": [0], "locked": True},
        {"slot_ids": ["BAW1"], "locked": True},
        {"slot_ids": [1]},
        {"locked": True},
        {"slot_ids": 5, "locked": True},
    ],
    ids=["empty", "too-many", "zero", "not-an-id", "no-locked", "no-ids", "not-a-list"],
)
async def test_malformed_requests_are_422(
    client: httpx.AsyncClient,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
    body: dict[str, Any],
) -> None:
    response = await client.post(
        f"/api/events/{event['id']}/slots/lock", json=body, headers=organizer.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"


async def test_slots_of_another_event_are_refused_and_nothing_changes(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    other = await make_event(client, organizer, title="Another evening")
    [foreign] = await make_slots(client, organizer, other, pilot_slots(1))
    version = (await detail(client, event))["version"]
    for ids in ([slots[0]["id"], foreign["id"]], [slots[1]["id"], 999_999]):
        response = await lock(client, event, ids, True, organizer)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "slot_ids", 1]
        assert f"slot {ids[1]} is not part of event {event['id']}" in error["msg"]
    assert await locked_ids(client, event) == set()
    assert await locked_ids(client, other) == set()
    assert (await detail(client, event))["version"] == version
    assert await audit_rows(db, "slots.locked") == []
    unknown = await client.post(
        "/api/events/999999/slots/lock",
        json={"slot_ids": [slots[0]["id"]], "locked": True},
        headers=organizer.headers,
    )
    assert unknown.status_code == 404


async def test_only_the_events_organizer_or_an_admin_may_lock(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> None:
    ids = [s["id"] for s in slots]
    rival = await make_account(db, client, email="rival@example.com")
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)

    nobody = await lock(client, event, ids, True, None)
    assert nobody.status_code == 401
    for who in (rival, member):
        refused = await lock(client, event, ids, True, who)
        assert refused.status_code == 403, who.email
    assert await locked_ids(client, event) == set()
    assert await audit_rows(db, "slots.locked") == []

    assert (await lock(client, event, ids[:2], True, organizer)).json() == {"updated": 2}
    assert (await lock(client, event, ids, True, admin)).json() == {"updated": 2}
    assert await locked_ids(client, event) == set(ids)


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[LiveApp]:
    async with live_app(make_settings(database_url, tmp_path)) as running:
        yield running


async def test_an_open_roster_sees_the_bulk_lock_as_one_message(live: LiveApp) -> None:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as http:
        organizer = await make_account(live.app.state.database, http, email="org@example.com")
        event = await make_event(http, organizer)
        slots = await make_slots(http, organizer, event, pilot_slots(3))
        async with connect(live.events_ws(event["id"])) as ws:
            version = (await recv_json(ws))["version"]
            ids = [slots[0]["id"], slots[2]["id"]]
            assert (await lock(http, event, ids, True, organizer)).json() == {"updated": 2}
            message = await recv_until(ws, lambda m: m["type"] not in ("ping",))
            assert message["type"] == "slots.updated" and message["version"] == version + 1
            assert [s["id"] for s in message["slots"]] == ids
            assert all(s["is_locked"] for s in message["slots"])
            now = (await detail(http, event))["slots"]
            assert message["slots"] == [now[0], now[2]]

            claim = await http.post(f"/api/slots/{slots[1]['id']}/book", json=booking_body())
            assert claim.status_code == 201
            update = await recv_until(ws, of_type("slot.updated"))
            assert update["version"] == version + 2  # no gap after the bulk message
