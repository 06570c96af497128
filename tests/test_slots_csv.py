"""CSV import (dry run, every error, all or nothing, limits) and export, and their round trip."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import Account, event_start, make_account, make_event, make_slots

HEADER = "position_name,position_type,start_time,end_time,origin_icao,destination_icao,slot_time,aircraft_type,route,callsign,notes,locked,min_rating"  # noqa: E501
COMPARED = (
    "position_name", "position_type", "callsign_pattern", "is_locked", "order_index", "notes",
    "start_time", "end_time", "origin_icao", "destination_icao", "slot_time", "aircraft_type",
    "route", "callsign",
)  # fmt: skip


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


@pytest.fixture
async def event(client: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    return await make_event(client, organizer)  # 1600z to 2200z


def at(event: dict[str, Any], minutes: float) -> datetime:
    return datetime.fromisoformat(event["start_datetime"]) + timedelta(minutes=minutes)


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


async def upload(
    client: httpx.AsyncClient,
    account: Account | None,
    event: dict[str, Any],
    data: str | bytes,
    *,
    dry_run: bool = False,
    content_type: str = "text/csv",
) -> httpx.Response:
    headers = {"Content-Type": content_type, **(account.headers if account else {})}
    content = data.encode() if isinstance(data, str) else data
    return await client.post(
        f"/api/events/{event['id']}/slots/import",
        params={"dry_run": "true"} if dry_run else {},
        content=content,
        headers=headers,
    )


async def slots_of(client: httpx.AsyncClient, event: dict[str, Any]) -> list[dict[str, Any]]:
    return (await client.get(f"/api/events/{event['id']}")).json()["slots"]


def comparable(slot: dict[str, Any]) -> dict[str, Any]:
    values = {key: slot[key] for key in COMPARED}
    for key in ("start_time", "end_time", "slot_time"):
        values[key] = datetime.fromisoformat(values[key]) if values[key] else None
    return values


BAD_FILE = "\r\n".join(
    [
        "\ufeffPosition_Name, Position Type ,Start,End,Origin,Destination,CTOT,Aircraft,Route,"
        "Call-Sign,Remarks,LOCKED",
        "EGLL_TWR,,1600,1800,,,,,,,,no",  # 2: fine
        "EGLL_TWRX,TWR,1600,1800,,,,,,,,",  # 3: not an ATC callsign
        "EGLL-KJFK,pilot,,,EGL,KJFK,1704,B77W,,BAW1,,",  # 4: a 3-letter origin
        "EGLL-KBOS,PILOT,,,EGLL,KBOS,25:00,,,,,",  # 5: no such time
        "EGLL_GND,,1500,1530,,,,,,,,",  # 6: before 1600 is the next day: after the event
        "EGLL_DEL,,,,EGLL,,,,,,,maybe",  # 7: not a boolean; ATC slots have no origin
        "",  # 8: blank lines are skipped
        'EGLL-KMIA,PILOT,,,EGLL,KMIA,1720,A388,"DVR L9, KONAN",BAW9,"Note, with ""quotes""',
        'on two lines",yes',  # 9-10: fine
        "EGLL_APP,,1600,,,,,,,,,",  # 11: a start without an end
        "EGLL-KORD,PILOT,,,EGLL,KORD,2300,,,,,",  # 12: 2300z is after the event
        "LON_CTR,,,,,,,,,,,,surplus",  # 13: a cell past the header
    ]
)
BAD_ERRORS = [
    (3, None),
    (4, "origin_icao"),
    (5, "slot_time"),
    (6, "start_time"),
    (7, "locked"),
    (7, "origin_icao"),
    (11, None),
    (12, "slot_time"),
    (13, None),
]


async def test_dry_run_reports_every_bad_row_and_apply_writes_nothing(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    audits = await count(db, "audit_logs")
    report = await upload(client, organizer, event, BAD_FILE, dry_run=True)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["valid"] == 2
    assert [(e["line"], e["column"]) for e in body["errors"]] == BAD_ERRORS
    messages = {(e["line"], e["column"]): e["message"] for e in body["errors"]}
    assert "not an ATC callsign" in messages[(3, None)]
    assert "4-letter ICAO" in messages[(4, "origin_icao")]
    assert "'25:00' is not a time of day" in messages[(5, "slot_time")]
    assert "must lie within the event" in messages[(6, "start_time")]
    assert "'maybe' is not true or false" in messages[(7, "locked")]
    assert "for pilot slots only; EGLL_DEL is an ATC position" in messages[(7, "origin_icao")]
    assert "give both start_time and end_time" in messages[(11, None)]
    assert "more cells than the header" in messages[(13, None)]
    assert await count(db, "slots") == 0

    applied = await upload(client, organizer, event, BAD_FILE)
    assert applied.status_code == 422, applied.text
    assert applied.json()["code"] == "import_invalid"
    assert applied.json()["errors"] == body["errors"]
    assert await count(db, "slots") == 0
    assert await count(db, "audit_logs") == audits
    assert (await client.get(f"/api/events/{event['id']}")).json()["version"] == 0


async def test_import_creates_every_row_from_synonyms_hhmm_and_iso_times(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    start = event_start().replace(hour=20)  # 2000z to 0400z: HHMM before 2000 is the next day
    night = await make_event(
        client,
        organizer,
        start_datetime=start.isoformat(),
        end_datetime=(start + timedelta(hours=8)).isoformat(),
    )
    text = "\n".join(
        [
            "notes;CTOT;Dest;origin;position;Aircraft_Type;callsign;lock;START;end;route",
            ";;;;EGLL_N_APP;;;yes;2000z;2330;",
            f";;;;EGLL_S_APP;;;;{start.isoformat()};{(start + timedelta(hours=8)).isoformat()};",
            "'=1+1;0130;kjfk;egll;EGLL-KJFK 0130z;b77w;baw117;;;;DVR L9",
            "Bring snacks;2359Z;KBOS;EGLL;EGLL-KBOS;;;0;;;",
        ]
    )
    response = await upload(client, organizer, night, text)
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 4}
    slots = await slots_of(client, night)
    first, second, jfk, bos = (comparable(s) for s in slots)
    assert (first["position_type"], first["is_locked"]) == ("APP", True)
    assert (first["start_time"], first["end_time"]) == (start, start + timedelta(minutes=210))
    assert (second["start_time"], second["end_time"]) == (start, start + timedelta(hours=8))
    assert jfk == jfk | {
        "position_type": "PILOT", "origin_icao": "EGLL", "destination_icao": "KJFK",
        "slot_time": start + timedelta(minutes=330), "aircraft_type": "B77W",
        "callsign": "BAW117", "route": "DVR L9", "notes": "=1+1", "is_locked": False,
    }  # fmt: skip
    assert (bos["slot_time"], bos["notes"]) == (start + timedelta(minutes=239), "Bring snacks")
    assert [s["order_index"] for s in slots] == [0, 1, 2, 3]
    assert await count(db, "slots") == 4


async def test_import_takes_a_multipart_file(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any]
) -> None:
    data = f"{HEADER}\nEGLL_TWR,TWR,1600,1800,,,,,,,,\n".encode()
    url = f"/api/events/{event['id']}/slots/import"
    files = {"file": ("roster.csv", data, "text/csv")}
    dry = await client.post(f"{url}?dry_run=1", files=files, headers=organizer.headers)
    assert (dry.status_code, dry.json()) == (200, {"valid": 1, "errors": []})
    assert await slots_of(client, event) == []
    done = await client.post(url, files=files, headers=organizer.headers)
    assert (done.status_code, done.json()) == (201, {"created": 1})
    assert [s["position_name"] for s in await slots_of(client, event)] == ["EGLL_TWR"]


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b"", 1, "the file is empty"),
        (b"\n\n", 1, "the file is empty"),
        (b"position_name,notes\n", 1, "a header but no slot rows"),
        (b"notes\nhello\n", 1, "must have a position_name column"),
        (b"position_name,type\nEGLL_TWR,TWR\n", 1, "ambiguous"),
        (b"position_name,destinaton\nX,KJFK\n", 1, "unknown column 'destinaton'"),
        (b"position_name,origin,origin_icao\nX,EGLL,EGLL\n", 1, "origin_icao is given twice"),
        (b"position_name\nEGLL-KJFK\nKLAX-\xe9\n", 3, "not UTF-8"),
    ],
)
async def test_files_that_are_not_slot_csv_are_reported(
    client: httpx.AsyncClient,
    organizer: Account,
    event: dict[str, Any],
    data: bytes,
    line: int,
    message: str,
) -> None:
    report = await upload(client, organizer, event, data, dry_run=True)
    assert report.status_code == 200, report.text
    [error] = report.json()["errors"]
    assert error["line"] == line and message in error["message"], error
    applied = await upload(client, organizer, event, data)
    assert applied.status_code == 422 and applied.json()["errors"] == [error]
    assert await slots_of(client, event) == []


async def test_import_limits(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    most = "position_name\n" + "".join(f"EGLL-KJFK {i}\n" for i in range(5_000))
    report = await upload(client, organizer, event, most, dry_run=True)
    assert report.status_code == 200 and report.json() == {"valid": 5_000, "errors": []}
    too_many = most + "EGLL-KJFK 5000\n"
    for dry_run in (True, False):
        response = await upload(client, organizer, event, too_many, dry_run=dry_run)
        assert (response.status_code, response.json()["code"]) == (413, "too_large")
    huge = "position_name,notes\n" + f"EGLL-KJFK,{'x' * 1_048_576}\n"
    response = await upload(client, organizer, event, huge)
    assert (response.status_code, response.json()["code"]) == (413, "too_large")
    files = {"file": ("big.csv", huge.encode(), "text/csv")}
    response = await client.post(
        f"/api/events/{event['id']}/slots/import", files=files, headers=organizer.headers
    )
    assert response.status_code == 413
    response = await upload(client, organizer, event, "{}", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    assert await count(db, "slots") == 0


async def test_export_guards_formulas_and_round_trips_into_another_event(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    created = await make_slots(
        client,
        organizer,
        event,
        [
            {"position_name": "EGLL_TWR", "start_time": at(event, 0).isoformat(),
             "end_time": at(event, 120).isoformat(), "notes": "=HYPERLINK(\"http://x\")"},
            {"position_name": "EGLL-KJFK 1704z", "origin_icao": "EGLL",
             "destination_icao": "KJFK", "slot_time": at(event, 64).isoformat(),
             "aircraft_type": "B77W", "route": "CPT3F CPT UL9", "callsign": "BAW117",
             "notes": "Line one,\n\"two\""},
            {"position_name": "@home", "position_type": "PILOT", "notes": "'=already quoted"},
            {"position_name": "LON_S_CTR", "notes": "-minus, +plus"},
        ],
    )  # fmt: skip
    locked = await client.patch(
        f"/api/slots/{created[3]['id']}", json={"is_locked": True}, headers=organizer.headers
    )
    assert locked.status_code == 200
    response = await client.get(f"/api/events/{event['id']}/slots.csv", headers=organizer.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert ",".join(rows[0]) == HEADER
    assert len(rows) == 5
    twr, jfk, home, ctr = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert twr["notes"] == '\'=HYPERLINK("http://x")'
    assert twr["start_time"] == at(event, 0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (twr["locked"], twr["origin_icao"], twr["slot_time"]) == ("false", "", "")
    assert jfk["slot_time"] == at(event, 64).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (jfk["callsign"], jfk["route"], jfk["position_type"]) == (
        "BAW117",
        "CPT3F CPT UL9",
        "PILOT",
    )
    assert (home["position_name"], home["notes"]) == ("'@home", "''=already quoted")
    assert (ctr["notes"], ctr["locked"]) == ("'-minus, +plus", "true")

    other = await make_event(client, organizer, title="Same times, another event")
    imported = await upload(client, organizer, other, response.content)
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"created": 4}
    original = [comparable(s) for s in await slots_of(client, event)]
    copy = [comparable(s) for s in await slots_of(client, other)]
    assert copy == original
    assert copy[2]["notes"] == "'=already quoted" and copy[0]["notes"].startswith("=HYPERLINK")
    assert await count(db, "slots") == 8


async def test_import_and_export_need_the_event_organizer(
    client: httpx.AsyncClient, db: Database, organizer: Account, event: dict[str, Any]
) -> None:
    other = await make_account(db, client, email="other@example.com")
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    data = f"{HEADER}\nEGLL_TWR,,,,,,,,,,,\n"
    export = f"/api/events/{event['id']}/slots.csv"
    for dry_run in (True, False):
        assert (await upload(client, None, event, data, dry_run=dry_run)).status_code == 401
        refused = await upload(client, other, event, data, dry_run=dry_run)
        assert (refused.status_code, refused.json()["code"]) == (403, "not_organizer")
    assert (await client.get(export)).status_code == 401
    assert (await client.get(export, headers=other.headers)).status_code == 403
    assert (await upload(client, organizer, {"id": 99999}, data)).status_code == 404
    assert await count(db, "slots") == 0

    assert (await upload(client, organizer, event, data)).status_code == 201
    assert (await upload(client, admin, event, data)).status_code == 201
    for account in (organizer, admin):
        response = await client.get(export, headers=account.headers)
        assert response.status_code == 200
        assert response.text.splitlines()[1:] == ["EGLL_TWR,TWR,,,,,,,,,,false,"] * 2


async def test_the_documented_example_file_imports(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    example = Path(__file__).parent.parent / "docs" / "examples" / "slots-import.csv"
    event = await make_event(
        client,
        organizer,
        start_datetime="2026-12-10T16:00:00Z",
        end_datetime="2026-12-10T22:00:00Z",
    )
    response = await upload(client, organizer, event, example.read_bytes())
    assert (response.status_code, response.json()) == (201, {"created": 6}), response.text
    slots = await slots_of(client, event)
    assert [s["position_type"] for s in slots] == ["DEL", "TWR", "APP", "PILOT", "PILOT", "PILOT"]
    assert [s["is_locked"] for s in slots] == [False, False, True, False, False, False]
    assert [s["slot_time"] for s in slots[3:]] == [
        "2026-12-10T17:04:00Z", "2026-12-10T17:08:00Z", "2026-12-10T17:12:00Z",
    ]  # fmt: skip
    assert slots[4]["notes"] == "Departure slot (CTOT), bring oceanic clearance"
