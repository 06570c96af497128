"""Slot generation: ATC blocks and pilot slots, dry runs, skipped repeats, limits, authority."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests.helpers import Account, make_account, make_event, make_slots


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    return await make_event(client, organizer)  # 1600z to 2200z, seven days ahead


def at(event: dict[str, Any], minutes: float) -> datetime:
    return datetime.fromisoformat(event["start_datetime"]) + timedelta(minutes=minutes)


def times(items: list[dict[str, Any]], *keys: str) -> list[tuple[datetime | None, ...]]:
    return [tuple(datetime.fromisoformat(i[k]) if i[k] else None for k in keys) for i in items]


async def generate(
    client: httpx.AsyncClient, account: Account | None, event: dict[str, Any], **body: Any
) -> httpx.Response:
    headers = account.headers if account else {}
    return await client.post(
        f"/api/events/{event['id']}/slots/generate", json=body, headers=headers
    )


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


async def test_atc_blocks_cover_the_event_and_the_last_is_cut(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    audits = await count(db, "audit_logs")
    response = await generate(
        client, organizer, event, kind="atc", positions=["egll_del", "EGLL_TWR"], block_minutes=150
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["skipped"] == []
    slots = body["slots"]
    assert [(s["position_name"], s["position_type"]) for s in slots] == [
        ("EGLL_DEL", "DEL")
    ] * 3 + [("EGLL_TWR", "TWR")] * 3
    blocks = [(at(event, 0), at(event, 150)), (at(event, 150), at(event, 300))]
    blocks.append((at(event, 300), at(event, 360)))  # cut at the event's end
    assert times(slots, "start_time", "end_time") == blocks * 2
    assert [s["order_index"] for s in slots] == list(range(6))
    assert all(isinstance(s["id"], int) for s in slots)
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert [s["id"] for s in detail["slots"]] == [s["id"] for s in slots]
    assert detail["version"] == 1  # one transaction, one slots.added message
    assert await count(db, "audit_logs") == audits + 1


async def test_atc_sub_range_and_dry_run_then_skips_what_exists(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    sub = {"from": at(event, 60).isoformat(), "to": at(event, 200).isoformat()}
    preview = await generate(
        client, organizer, event, kind="atc", positions=["EGLL_GND"], block_minutes=60,
        dry_run=True, **sub,
    )  # fmt: skip
    assert preview.status_code == 200, preview.text
    planned = preview.json()["slots"]
    assert times(planned, "start_time", "end_time") == [
        (at(event, 60), at(event, 120)),
        (at(event, 120), at(event, 180)),
        (at(event, 180), at(event, 200)),
    ]
    assert all("id" not in s for s in planned)
    assert [(s["event_id"], s["order_index"]) for s in planned] == [
        (event["id"], i) for i in range(3)
    ]
    assert await count(db, "slots") == 0  # a dry run writes nothing

    [existing] = await make_slots(
        client,
        organizer,
        event,
        [{"position_name": "EGLL_GND", "start_time": at(event, 120).isoformat(),
          "end_time": at(event, 180).isoformat()}],
    )  # fmt: skip
    response = await generate(
        client, organizer, event, kind="atc", positions=["EGLL_GND", "egll_gnd"],
        block_minutes=60, **sub,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = response.json()
    assert times(body["slots"], "start_time", "end_time") == [
        (at(event, 60), at(event, 120)),
        (at(event, 180), at(event, 200)),
    ]
    [skipped] = body["skipped"]
    assert skipped["existing_slot_id"] == existing["id"]
    assert skipped["position_name"] == "EGLL_GND"
    assert "already has this slot" in skipped["reason"]
    again = await generate(
        client, organizer, event, kind="atc", positions=["EGLL_GND"], block_minutes=60, **sub
    )
    assert again.status_code == 201
    assert (again.json()["slots"], len(again.json()["skipped"])) == ([], 3)
    assert await count(db, "slots") == 3


async def test_pilot_slots_every_n_minutes_with_destinations_in_turn(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    body = {
        "kind": "pilot", "every_minutes": 4, "from": at(event, 64).isoformat(),
        "to": at(event, 80).isoformat(), "origin_icao": "egll",
        "destinations": ["KJFK", "kbos"], "aircraft_type": "b77w",
    }  # fmt: skip
    preview = await generate(client, organizer, event, **body, dry_run=True)
    assert preview.status_code == 200, preview.text
    planned = preview.json()["slots"]
    assert [s["position_name"] for s in planned] == [
        "EGLL-KJFK 1704z", "EGLL-KBOS 1708z", "EGLL-KJFK 1712z", "EGLL-KBOS 1716z",
    ]  # fmt: skip
    assert times(planned, "slot_time") == [(at(event, m),) for m in (64, 68, 72, 76)]
    assert {(s["position_type"], s["origin_icao"], s["aircraft_type"]) for s in planned} == {
        ("PILOT", "EGLL", "B77W")
    }
    assert {(s["start_time"], s["end_time"]) for s in planned} == {(None, None)}

    created = await generate(client, organizer, event, **body)
    assert created.status_code == 201, created.text
    slots = created.json()["slots"]
    assert [s["destination_icao"] for s in slots] == ["KJFK", "KBOS", "KJFK", "KBOS"]
    assert [s["position_name"] for s in slots] == [s["position_name"] for s in planned]

    wider = await generate(
        client, organizer, event, **(body | {"to": at(event, 90).isoformat(), "dry_run": True})
    )
    assert [s["position_name"] for s in wider.json()["slots"]] == [
        "EGLL-KJFK 1720z", "EGLL-KBOS 1724z", "EGLL-KJFK 1728z",
    ]  # fmt: skip
    assert [s["existing_slot_id"] for s in wider.json()["skipped"]] == [s["id"] for s in slots]
    assert await count(db, "slots") == 4


async def test_generate_refuses_bad_requests(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    atc = {"kind": "atc", "positions": ["EGLL_TWR"], "block_minutes": 60}
    pilot = {
        "kind": "pilot", "every_minutes": 2, "from": at(event, 0).isoformat(),
        "to": at(event, 60).isoformat(), "origin_icao": "EGLL", "destinations": ["KJFK"],
    }  # fmt: skip
    apps = [f"EGLL_{c}_APP" for c in "ABCDEF"]
    atc_at = ["body", "atc"]
    pilot_at = ["body", "pilot"]
    cases: dict[str, tuple[dict[str, Any], list[Any]]] = {
        "bad-callsign": (atc | {"positions": ["EGLL_TWR", "EGLL-TWR"]}, [*atc_at, "positions", 1]),
        "no-positions": (atc | {"positions": []}, [*atc_at, "positions"]),
        "zero-block": (atc | {"block_minutes": 0}, [*atc_at, "block_minutes"]),
        "negative-interval": (pilot | {"every_minutes": -4}, [*pilot_at, "every_minutes"]),
        "unknown-kind": (atc | {"kind": "radar"}, ["body"]),
        "typo-field": (pilot | {"aircraft": "B738"}, [*pilot_at, "aircraft"]),
        "pilot-no-range": ({k: v for k, v in pilot.items() if k != "to"}, [*pilot_at, "to"]),
        "bad-origin": (pilot | {"origin_icao": "EG"}, [*pilot_at, "origin_icao"]),
        "bad-destination": (
            pilot | {"destinations": ["KJFK", "JFK"]},
            [*pilot_at, "destinations", 1],
        ),
        "bad-type": (pilot | {"aircraft_type": "BOEING"}, [*pilot_at, "aircraft_type"]),
        "before-event": (atc | {"from": at(event, -60).isoformat()}, ["body", "from"]),
        "after-event": (pilot | {"to": at(event, 361).isoformat()}, ["body", "to"]),
        "reversed": (pilot | {"to": at(event, 0).isoformat()}, ["body", "to"]),
        "too-many": (atc | {"positions": apps, "block_minutes": 1}, ["body", "block_minutes"]),
    }
    for case, (body, loc) in cases.items():
        response = await generate(client, organizer, event, **body)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
        assert response.json()["detail"][0]["loc"][: len(loc)] == loc, (case, response.text)
    too_many = await generate(
        client, organizer, event, **atc | {"positions": apps, "block_minutes": 1}
    )
    assert "2160 slots; at most 2000 at once" in too_many.text  # 6 approach sectors x 360 blocks
    assert await count(db, "slots") == 0

    long_event = await make_event(
        client, organizer, end_datetime=at(event, 48 * 60).isoformat(), title="Two days"
    )
    every_minute = pilot | {"every_minutes": 1, "to": at(event, 48 * 60).isoformat()}
    refused = await generate(client, organizer, long_event, **every_minute)
    assert refused.status_code == 422 and "2880 slots" in refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "every_minutes"]
    allowed = await generate(client, organizer, long_event, **every_minute | {"every_minutes": 2})
    assert allowed.status_code == 201 and len(allowed.json()["slots"]) == 1440


async def test_generate_needs_the_event_organizer(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    other = await make_account(db, client, email="other@example.com")
    body = {"kind": "atc", "positions": ["EGLL_TWR"], "block_minutes": 60}
    assert (await generate(client, None, event, **body)).status_code == 401
    refused = await generate(client, other, event, **body)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_organizer")
    dry = await generate(client, other, event, **body, dry_run=True)
    assert dry.status_code == 403
    assert (await generate(client, organizer, {"id": 99999}, **body)).status_code == 404
    assert await count(db, "slots") == 0
    response = await generate(client, organizer, event, **body)
    assert response.status_code == 201 and len(response.json()["slots"]) == 6
