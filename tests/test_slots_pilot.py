"""Structured pilot slots: origin, destination, slot time, aircraft type, route and callsign."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests.helpers import Account, make_account, make_event, make_slots

PILOT = {
    "position_name": "EGLL-KJFK 1204z",
    "origin_icao": "egll",
    "destination_icao": "kjfk",
    "aircraft_type": "b77w",
    "route": "  CPT3F CPT  UL9 KENET ",
    "callsign": " baw117 ",
}
STRUCTURED = ("origin_icao", "destination_icao", "slot_time", "aircraft_type", "route", "callsign")


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    return await make_event(client, organizer)


def at(event: dict[str, Any], minutes: float) -> str:
    start = datetime.fromisoformat(event["start_datetime"])
    return (start + timedelta(minutes=minutes)).isoformat()


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


async def test_pilot_fields_are_stored_normalized_and_shown_everywhere(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    body = PILOT | {"slot_time": at(event, 64)}
    response = await client.post(
        f"/api/events/{event['id']}/slots", json=body, headers=organizer.headers
    )
    assert response.status_code == 201, response.text
    slot = response.json()
    assert slot["position_type"] == "PILOT"
    assert (slot["origin_icao"], slot["destination_icao"]) == ("EGLL", "KJFK")
    assert (slot["aircraft_type"], slot["callsign"]) == ("B77W", "BAW117")
    assert slot["route"] == "CPT3F CPT UL9 KENET"
    assert datetime.fromisoformat(slot["slot_time"]) == datetime.fromisoformat(at(event, 64))

    [public] = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert {k: public[k] for k in STRUCTURED} == {k: slot[k] for k in STRUCTURED}
    state = (await client.get(f"/api/events/{event['id']}/state?since=0")).json()
    [added] = [c for c in state["changes"] if c["type"] == "slots.added"]
    assert {k: added["slots"][0][k] for k in STRUCTURED} == {k: slot[k] for k in STRUCTURED}

    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json={"pilot_name": "Lena", "pilot_callsign": "BAW117"}
    )
    assert booked.status_code == 201, booked.text
    state = (await client.get(f"/api/events/{event['id']}/state?since=1")).json()
    [claimed] = [c for c in state["changes"] if c["type"] == "slot.updated"]
    assert claimed["slot"]["callsign"] == "BAW117"
    assert claimed["slot"]["destination_icao"] == "KJFK"


async def test_pilot_fields_are_refused_when_bad_or_on_atc_slots(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    pilot = {"position_name": "EGLL-KJFK", "position_type": "PILOT"}
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "short-origin": (pilot | {"origin_icao": "EGL"}, "origin_icao"),
        "digit-destination": (pilot | {"destination_icao": "K1FK"}, "destination_icao"),
        "long-type": (pilot | {"aircraft_type": "B7477"}, "aircraft_type"),
        "short-type": (pilot | {"aircraft_type": "B"}, "aircraft_type"),
        "symbol-type": (pilot | {"aircraft_type": "B-77"}, "aircraft_type"),
        "bad-callsign": (pilot | {"callsign": "BA W1"}, "callsign"),
        "long-callsign": (pilot | {"callsign": "BAW12345678"}, "callsign"),
        "long-route": (pilot | {"route": "DCT " * 300}, "route"),
        "nul-route": (pilot | {"route": "DCT\x00"}, "route"),
        "bad-time": (pilot | {"slot_time": "soon"}, "slot_time"),
        "before-event": (pilot | {"slot_time": at(event, -1)}, "slot_time"),
        "after-event": (pilot | {"slot_time": at(event, 6 * 60 + 1)}, "slot_time"),
        "atc-origin": ({"position_name": "EGLL_TWR", "origin_icao": "EGLL"}, "origin_icao"),
        "atc-slot-time": ({"position_name": "egll_twr", "slot_time": at(event, 5)}, "slot_time"),
        "atc-callsign": (
            {"position_name": "EGLL_APP", "position_type": "APP", "callsign": "BAW1"},
            "callsign",
        ),
    }
    for case, (body, field) in cases.items():
        response = await client.post(
            f"/api/events/{event['id']}/slots", json=body, headers=organizer.headers
        )
        assert response.status_code == 422, (case, response.text)
        detail = response.json()["detail"]
        assert response.json()["code"] == "validation_error"
        assert detail[0]["loc"] == ["body", field], (case, detail)
    atc = await client.post(
        f"/api/events/{event['id']}/slots",
        json={"position_name": "EGLL_TWR", "route": "DCT"},
        headers=organizer.headers,
    )
    assert "route is for pilot slots only; EGLL_TWR is an ATC position" in atc.text
    # The edges of the event are inside it.
    for minutes in (0, 6 * 60):
        inside = pilot | {"slot_time": at(event, minutes)}
        response = await client.post(
            f"/api/events/{event['id']}/slots", json=inside, headers=organizer.headers
        )
        assert response.status_code == 201, response.text
    assert await count(db, "slots") == 2


async def test_patch_sets_and_clears_pilot_fields(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    pilot, atc = await make_slots(
        client,
        organizer,
        event,
        [{"position_name": "EGLL-KJFK", "position_type": "PILOT"}, {"position_name": "EGLL_TWR"}],
    )
    url = f"/api/slots/{pilot['id']}"
    response = await client.patch(
        url,
        json={"origin_icao": "egll", "slot_time": at(event, 30), "callsign": "dlh4ab"},
        headers=organizer.headers,
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["origin_icao"], changed["callsign"]) == ("EGLL", "DLH4AB")
    assert changed["destination_icao"] is None
    response = await client.patch(
        url, json={"aircraft_type": "A20N", "callsign": None}, headers=organizer.headers
    )
    assert (response.json()["aircraft_type"], response.json()["callsign"]) == ("A20N", None)
    assert response.json()["origin_icao"] == "EGLL"  # untouched fields stay

    audits = await count(db, "audit_logs")
    refusals = {
        "outside": (url, {"slot_time": at(event, -30)}, "slot_time"),
        "bad-type": (url, {"aircraft_type": "TOO LONG"}, "aircraft_type"),
        "atc-origin": (f"/api/slots/{atc['id']}", {"origin_icao": "EGLL"}, "origin_icao"),
        "atc-route": (f"/api/slots/{atc['id']}", {"route": "DCT"}, "route"),
    }
    for case, (target, body, field) in refusals.items():
        response = await client.patch(target, json=body, headers=organizer.headers)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field], case
    # Clearing what an ATC slot never had is harmless.
    cleared = await client.patch(
        f"/api/slots/{atc['id']}", json={"origin_icao": None}, headers=organizer.headers
    )
    assert cleared.status_code == 200
    assert await count(db, "audit_logs") == audits


async def test_event_times_cannot_move_away_from_a_slot_time(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    await make_slots(
        client, organizer, event, [{"position_name": "EGLL-KJFK", "slot_time": at(event, 30)}]
    )
    response = await client.patch(
        f"/api/events/{event['id']}",
        json={"start_datetime": at(event, 60)},
        headers=organizer.headers,
    )
    assert response.status_code == 422, response.text
    assert "1 slot(s) would fall outside" in response.text
    response = await client.patch(
        f"/api/events/{event['id']}",
        json={"start_datetime": at(event, 30)},
        headers=organizer.headers,
    )
    assert response.status_code == 200, response.text
