"""Slots API: single and bulk create, validation, updates and deletion."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    return await make_event(client, organizer)


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


def block(event: dict[str, Any], start_hours: float, end_hours: float) -> dict[str, str]:
    start = datetime.fromisoformat(event["start_datetime"])
    return {
        "start_time": (start + timedelta(hours=start_hours)).isoformat(),
        "end_time": (start + timedelta(hours=end_hours)).isoformat(),
    }


async def add_slot(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any], **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/events/{event['id']}/slots", json=body, headers=organizer.headers
    )


# --- create -----------------------------------------------------------------------------------


async def test_create_one_slot(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    cases = [
        ({"position_name": "EGLL_N_APP"}, "EGLL_N_APP", "APP"),
        ({"position_name": "egll_twr"}, "EGLL_TWR", "TWR"),
        ({"position_name": "EGLL_ATIS"}, "EGLL_ATIS", "ATIS"),
        ({"position_name": "LON_S_CTR", "position_type": "CTR"}, "LON_S_CTR", "CTR"),
        ({"position_name": "EGLL-KJFK 1204z"}, "EGLL-KJFK 1204z", "PILOT"),
        (
            {"position_name": "  EGLL-KJFK   1204z ", "position_type": "PILOT"},
            "EGLL-KJFK 1204z",
            "PILOT",
        ),
        ({"position_name": "EGLL_TWR", "position_type": "PILOT"}, "EGLL_TWR", "PILOT"),
    ]
    for order, (body, name, position_type) in enumerate(cases):
        response = await add_slot(client, organizer, event, **body, notes="Bring snacks")
        assert response.status_code == 201, (body, response.text)
        slot = response.json()
        assert (slot["position_name"], slot["position_type"]) == (name, position_type), body
        assert slot["event_id"] == event["id"]
        assert slot["notes"] == "Bring snacks"
        assert (slot["is_locked"], slot["order_index"]) == (False, order)
        assert (slot["start_time"], slot["end_time"]) == (None, None)


async def test_create_slot_with_a_time_block(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    times = block(event, 2, 4)
    response = await add_slot(client, organizer, event, position_name="EGLL_TWR", **times)
    assert response.status_code == 201, response.text
    slot = response.json()
    assert datetime.fromisoformat(slot["start_time"]) == datetime.fromisoformat(times["start_time"])
    assert datetime.fromisoformat(slot["end_time"]) == datetime.fromisoformat(times["end_time"])
    # A block exactly as long as the event is inside it.
    response = await add_slot(
        client, organizer, event, position_name="EGLL_GND", **block(event, 0, 6)
    )
    assert response.status_code == 201, response.text


async def test_create_refuses_bad_slots(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    cases = {
        "bad-suffix": {"position_name": "EGLL_TWRX"},
        "bad-suffix-typed": {"position_name": "EGLL_TWRX", "position_type": "TWR"},
        "trailing-part": {"position_name": "EGLL_TWR_X"},
        "short-prefix": {"position_name": "E_TWR"},
        "type-mismatch": {"position_name": "EGLL_TWR", "position_type": "APP"},
        "not-atc-typed": {"position_name": "EGLL-KJFK", "position_type": "TWR"},
        "unknown-type": {"position_name": "EGLL_TWR", "position_type": "RADAR"},
        "blank": {"position_name": "   "},
        "empty": {"position_name": ""},
        "too-long": {"position_name": "X" * 65},
        "start-only": {"position_name": "EGLL_TWR", "start_time": "2030-01-01T10:00:00Z"},
        "zero-length": {"position_name": "EGLL_TWR", **block(event, 3, 3)},
        "reversed": {"position_name": "EGLL_TWR", **block(event, 3, 2)},
        "before-event": {"position_name": "EGLL_TWR", **block(event, -1, 1)},
        "after-event": {"position_name": "EGLL_TWR", **block(event, 5, 7)},
        "negative-order": {"position_name": "EGLL_TWR", "order_index": -1},
        "nul-name": {"position_name": "EGLL-KJFK\x00"},
        "nul-notes": {"position_name": "EGLL_TWR", "notes": "\x00"},
    }
    audits = await count(db, "audit_logs")
    for case, body in cases.items():
        response = await add_slot(client, organizer, event, **body)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
        assert isinstance(response.json()["detail"], list), case
    assert await count(db, "slots") == 0
    assert await count(db, "audit_logs") == audits


async def test_create_needs_the_organizer_and_a_real_event(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    other = await make_account(db, client, email="other@example.com")
    response = await add_slot(client, other, event, position_name="EGLL_TWR")
    assert response.status_code == 403
    response = await client.post(
        f"/api/events/{event['id']}/slots", json={"position_name": "EGLL_TWR"}
    )
    assert response.status_code == 401
    response = await add_slot(client, organizer, {"id": 99999}, position_name="EGLL_TWR")
    assert response.status_code == 404
    assert await count(db, "slots") == 0


async def test_bulk_create_numbers_slots_in_order(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    first = await make_slots(client, organizer, event, pilot_slots(3))
    assert [s["order_index"] for s in first] == [0, 1, 2]
    second = await make_slots(
        client,
        organizer,
        event,
        [
            {"position_name": "EGLL_DEL", **block(event, 0, 2)},
            {"position_name": "EGLL_GND", "order_index": 50},
            {"position_name": "EGLL_TWR"},
        ],
    )
    assert [s["order_index"] for s in second] == [3, 50, 4]
    assert [s["position_type"] for s in second] == ["DEL", "GND", "TWR"]
    third = await make_slots(client, organizer, event, pilot_slots(1))
    assert third[0]["order_index"] == 51

    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert [s["order_index"] for s in detail["slots"]] == [0, 1, 2, 3, 4, 50, 51]


@pytest.mark.parametrize(
    "bad",
    [{"position_name": "EGLL_TWRX", "position_type": "TWR"}, {"position_name": "EGLL_APP"}],
    ids=["invalid-item", "outside-event"],
)
async def test_bulk_create_is_all_or_nothing(
    client: httpx.AsyncClient,
    db: Database,
    organizer: Account,
    event: dict[str, Any],
    bad: dict[str, Any],
) -> None:
    if bad["position_name"] == "EGLL_APP":
        bad = bad | block(event, 5, 8)
    bodies = [*pilot_slots(2), bad, *pilot_slots(2)]
    audits = await count(db, "audit_logs")
    response = await client.post(
        f"/api/events/{event['id']}/slots/bulk", json=bodies, headers=organizer.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", 2]
    assert await count(db, "slots") == 0
    assert await count(db, "audit_logs") == audits
    assert (await client.get(f"/api/events/{event['id']}")).json()["version"] == 0


async def test_bulk_create_refuses_an_empty_list(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    response = await client.post(
        f"/api/events/{event['id']}/slots/bulk", json=[], headers=organizer.headers
    )
    assert response.status_code == 422
    assert await count(db, "slots") == 0


# --- update -----------------------------------------------------------------------------------


async def test_patch_locks_unlocks_and_edits(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    [slot] = await make_slots(client, organizer, event, [{"position_name": "EGLL_TWR"}])
    url = f"/api/slots/{slot['id']}"

    response = await client.patch(url, json={"is_locked": True}, headers=organizer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["is_locked"] is True
    assert response.json()["notes"] == slot["notes"]
    refused = await client.post(f"{url}/book", json=booking_body())
    assert refused.status_code == 409
    assert refused.json()["code"] == "slot_locked"

    times = block(event, 1, 3)
    response = await client.patch(
        url,
        json={"is_locked": False, "notes": "S2 or above", "order_index": 7, **times},
        headers=organizer.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["is_locked"], updated["notes"], updated["order_index"]) == (
        False,
        "S2 or above",
        7,
    )
    assert datetime.fromisoformat(updated["start_time"]) == datetime.fromisoformat(
        times["start_time"]
    )
    assert updated["position_name"] == "EGLL_TWR"

    response = await client.patch(
        url, json={"start_time": None, "end_time": None}, headers=organizer.headers
    )
    assert response.status_code == 200
    assert (response.json()["start_time"], response.json()["end_time"]) == (None, None)
    assert (await client.post(f"{url}/book", json=booking_body())).status_code == 201


async def test_patch_refuses_bad_changes(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    [slot] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", **block(event, 1, 2)}]
    )
    cases = {
        "outside": block(event, 5, 7),
        "reversed": block(event, 2, 1),
        "start-moves-past-end": {"start_time": block(event, 3, 4)["start_time"]},
        "half-cleared": {"end_time": None},
        "null-lock": {"is_locked": None},
        "null-notes": {"notes": None},
        "null-order": {"order_index": None},
        "negative-order": {"order_index": -3},
        "long-notes": {"notes": "x" * 2001},
        "nul-notes": {"notes": "\x00"},
        "nul-pattern": {"callsign_pattern": "EGLL_\x00"},
    }
    audits = await count(db, "audit_logs")
    for case, body in cases.items():
        response = await client.patch(
            f"/api/slots/{slot['id']}", json=body, headers=organizer.headers
        )
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
    [after] = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert after == slot | {"booking": None, "status": "free", "expires_at": None}
    assert await count(db, "audit_logs") == audits


async def test_patch_and_delete_need_the_organizer(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    other = await make_account(db, client, email="other@example.com")
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    url = f"/api/slots/{slot['id']}"
    assert (
        await client.patch(url, json={"is_locked": True}, headers=other.headers)
    ).status_code == 403
    assert (await client.patch(url, json={"is_locked": True})).status_code == 401
    assert (await client.delete(url, headers=other.headers)).status_code == 403
    assert (await client.delete(url)).status_code == 401
    assert (
        await client.patch("/api/slots/99999", json={}, headers=organizer.headers)
    ).status_code == 404
    assert (await client.delete("/api/slots/99999", headers=organizer.headers)).status_code == 404
    [after] = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert after["is_locked"] is False


# --- delete -----------------------------------------------------------------------------------


async def test_delete_is_refused_while_the_slot_is_claimed(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    url = f"/api/slots/{slot['id']}"
    claim = (await client.post(f"{url}/book", json=booking_body("BAW77"))).json()

    response = await client.delete(url, headers=organizer.headers)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_booked"
    assert "BAW77" in body["detail"]
    assert (await count(db, "slots"), await count(db, "bookings")) == (1, 1)

    release = await client.post(
        f"/api/bookings/{claim['id']}/release", headers={"X-Manage-Token": claim["manage_token"]}
    )
    assert release.status_code == 200
    response = await client.delete(url, headers=organizer.headers)
    assert response.status_code == 204
    assert (await count(db, "slots"), await count(db, "bookings")) == (0, 0)
    assert (await client.delete(url, headers=organizer.headers)).status_code == 404
    assert (await client.post(f"{url}/book", json=booking_body())).status_code == 404
