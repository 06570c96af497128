"""Pilot slot details on the pages, and the organizer's generate and import pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from skyslots.db import Database
from tests.helpers import Account, make_account, make_event, make_slots
from tests.test_web_views import csrf_of, page_csrf, web_login


def at(event: dict[str, Any], minutes: float) -> str:
    start = datetime.fromisoformat(event["start_datetime"])
    return (start + timedelta(minutes=minutes)).isoformat()


def local(event: dict[str, Any], minutes: float) -> str:
    return at(event, minutes)[:16]  # what a datetime-local input sends


async def signed_in_organizer(client: httpx.AsyncClient, db: Database) -> Account:
    organizer = await make_account(db, client, email="org@example.com")
    assert (await web_login(client, organizer.email)).status_code == 303
    return organizer


async def slots_of(client: httpx.AsyncClient, event: dict[str, Any]) -> list[dict[str, Any]]:
    return (await client.get(f"/api/events/{event['id']}")).json()["slots"]


async def test_event_page_shows_flights_sorted_by_slot_time(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    await make_slots(
        client,
        organizer,
        event,
        [
            {"position_name": "Untimed A", "position_type": "PILOT"},
            {"position_name": "EGLL-KBOS 1712z", "origin_icao": "EGLL", "destination_icao": "KBOS",
             "slot_time": at(event, 72), "aircraft_type": "A333"},
            {"position_name": "Untimed B", "position_type": "PILOT", "origin_icao": "EGLL"},
            {"position_name": "EGLL-KJFK 1704z", "origin_icao": "EGLL", "destination_icao": "KJFK",
             "slot_time": at(event, 64), "aircraft_type": "B77W", "callsign": "BAW117",
             "route": "<script>alert('route')</script> CPT"},
        ],
    )  # fmt: skip
    page = (await client.get(f"/events/{event['id']}")).text
    rows = re.findall(r'<li class="pilot-row">(.*?)</li>', page, re.S)
    names = [re.search(r'class="callsign">([^<]+)<', row).group(1) for row in rows]  # type: ignore[union-attr]
    assert names == ["EGLL-KJFK 1704z", "EGLL-KBOS 1712z", "Untimed A", "Untimed B"]
    first = rows[0]
    assert '<span class="pilot-row__time"><time class="t"' in first and ">1704z</time>" in first
    assert re.search(r'<span class="icao">EGLL</span> <span aria-hidden="true">→</span>', first)
    assert '<span class="icao">KJFK</span>' in first
    assert ">B77W</abbr>" in first
    assert 'title="Callsign fixed by the organizers">BAW117<' in first
    assert "&lt;script&gt;alert(&#39;route&#39;)&lt;/script&gt; CPT" in first
    assert "<script>alert(" not in page
    assert 'from <span class="icao">EGLL</span>' in rows[3]
    assert 'class="pilot-row__time"></span>' in rows[2]  # no time, nothing shown
    fragment = (await client.get(f"/events/{event['id']}/roster")).text
    assert fragment.count('class="pilot-row__flight"') == 3


async def test_add_one_form_sets_the_pilot_fields(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await signed_in_organizer(client, db)
    event = await make_event(client, organizer)
    path = f"/organizer/events/{event['id']}"
    token = await page_csrf(client, path)
    fields = {
        "csrf_token": token, "position_name": "EGLL-KJFK", "position_type": "PILOT",
        "start_time": "", "end_time": "", "notes": "", "origin_icao": "egll",
        "destination_icao": "kjfk", "slot_time": local(event, 64), "aircraft_type": "b77w",
        "route": "CPT UL9", "callsign": "baw117",
    }  # fmt: skip
    bad = await client.post(f"{path}/slots", data=fields | {"aircraft_type": "BOEING"})
    assert bad.status_code == 422
    assert re.search(r'id="err-aircraft_type"[^>]*>An aircraft type is 2 to 4', bad.text)
    assert 'value="BOEING"' in bad.text
    outside = await client.post(f"{path}/slots", data=fields | {"slot_time": local(event, -10)})
    assert outside.status_code == 422
    assert re.search(r'id="err-slot_time"[^>]*>The slot time', outside.text)
    atc = await client.post(
        f"{path}/slots", data=fields | {"position_name": "EGLL_TWR", "position_type": ""}
    )
    assert atc.status_code == 422 and "is for pilot slots only" in atc.text
    assert await slots_of(client, event) == []

    added = await client.post(f"{path}/slots", data=fields)
    assert added.status_code == 303, added.text
    [slot] = await slots_of(client, event)
    assert (slot["origin_icao"], slot["destination_icao"], slot["aircraft_type"]) == (
        "EGLL", "KJFK", "B77W",
    )  # fmt: skip
    assert (slot["callsign"], slot["route"]) == ("BAW117", "CPT UL9")
    assert datetime.fromisoformat(slot["slot_time"]) == datetime.fromisoformat(at(event, 64))
    page = (await client.get(path)).text
    assert '>1704z</time> <span class="muted">slot time</span>' in page
    assert 'Callsign fixed by the organizers">BAW117<' in page


async def test_generate_page_previews_then_creates(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await signed_in_organizer(client, db)
    event = await make_event(client, organizer)
    await make_slots(client, organizer, event, [{"position_name": "EGLL-KJFK 1600z",
        "origin_icao": "EGLL", "destination_icao": "KJFK", "slot_time": at(event, 0)}])  # fmt: skip
    path = f"/organizer/events/{event['id']}/slots/generate"
    token = await page_csrf(client, path)
    form = {
        "csrf_token": token, "kind": "pilot", "every_minutes": "4", "from": local(event, 0),
        "to": local(event, 16), "origin_icao": "egll", "destinations": "KJFK, kbos",
        "aircraft_type": "", "positions": "", "block_minutes": "120", "action": "preview",
    }  # fmt: skip
    preview = await client.post(path, data=form)
    assert preview.status_code == 200, preview.text
    assert "Preview: 3 new slots" in preview.text
    for name in ("EGLL-KBOS 1604z", "EGLL-KJFK 1608z", "EGLL-KBOS 1612z"):
        assert f'class="callsign">{name}<' in preview.text
    assert "Skipped: 1 already exist" in preview.text and "already has this slot" in preview.text
    assert len(await slots_of(client, event)) == 1  # a preview writes nothing
    confirm = re.search(r'data-role="confirm-generate">(.*?)</form>', preview.text, re.S)
    assert confirm, "no confirm form"
    hidden = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', confirm.group(1))
    )
    assert hidden["destinations"] == "KJFK, kbos" and hidden["kind"] == "pilot"

    created = await client.post(path, data=hidden | {"action": "create"})
    assert created.status_code == 303, created.text
    slots = await slots_of(client, event)
    assert [s["destination_icao"] for s in slots] == ["KJFK", "KBOS", "KJFK", "KBOS"]
    page = (await client.get(f"/organizer/events/{event['id']}")).text
    assert "Generated 3 slots; 1 already existed." in page

    bad = await client.post(path, data=form | {"kind": "atc", "positions": "EGLL_TWR\nEGLL-GND"})
    assert bad.status_code == 422
    assert re.search(r'id="err-positions"[^>]*>\S', bad.text)
    late = await client.post(path, data=form | {"to": local(event, 400)})
    assert late.status_code == 422 and re.search(r'id="err-to"[^>]*>To must lie within', late.text)
    assert len(await slots_of(client, event)) == 4


async def test_import_page_reports_then_applies(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await signed_in_organizer(client, db)
    event = await make_event(client, organizer)
    path = f"/organizer/events/{event['id']}/slots/import"
    token = await page_csrf(client, path)
    bad_csv = (
        b"position_name,aircraft_type,ctot\n<b>EGLL-KJFK</b>,B77W,1704\nEGLL-KBOS,BOEING,1708\n"
    )
    report = await client.post(
        path, data={"csrf_token": token, "action": "check"},
        files={"file": ("bad.csv", bad_csv, "text/csv")},
    )  # fmt: skip
    assert report.status_code == 200, report.text
    assert "1 problem found" in report.text and "1 row is fine" in report.text
    errors = re.search(r'data-role="import-errors">(.*?)</table>', report.text, re.S)
    assert errors
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", errors.group(1))
    assert cells == [
        "3",
        "aircraft_type",
        "an aircraft type is 2 to 4 letters and digits (ICAO), e.g. B77W",
    ]
    assert 'data-role="apply-import"' not in report.text
    assert await slots_of(client, event) == []

    good_csv = bad_csv.replace(b"BOEING", b"A333")
    checked = await client.post(
        path, data={"csrf_token": token, "action": "check"},
        files={"file": ("good.csv", good_csv, "text/csv")},
    )  # fmt: skip
    assert checked.status_code == 200 and "Ready: 2 slots" in checked.text
    assert "&lt;b&gt;EGLL-KJFK&lt;/b&gt;" in checked.text and "<b>EGLL-KJFK</b>" not in checked.text
    apply = re.search(r'data-role="apply-import">.*?<textarea name="csv" hidden>(.*?)</textarea>',
                      checked.text, re.S)  # fmt: skip
    assert apply
    text = apply.group(1).replace("&lt;", "<").replace("&gt;", ">")
    assert text == good_csv.decode()
    done = await client.post(
        path, data={"csrf_token": token, "action": "apply", "csv": text},
        files={"file": ("", b"", "application/octet-stream")},
    )  # fmt: skip
    assert done.status_code == 303, done.text
    slots = await slots_of(client, event)
    assert [(s["position_name"], s["aircraft_type"]) for s in slots] == [
        ("<b>EGLL-KJFK</b>", "B77W"), ("EGLL-KBOS", "A333"),
    ]  # fmt: skip
    assert "Imported 2 slots." in (await client.get(f"/organizer/events/{event['id']}")).text

    nothing = await client.post(path, data={"csrf_token": token, "action": "check"})
    assert nothing.status_code == 422 and "Choose a CSV file" in nothing.text
    again = await client.post(path, data={"csrf_token": token, "action": "apply", "csv": "x\n1"})
    assert again.status_code == 422 and "unknown column" in again.text
    huge = b"position_name,notes\nEGLL-KJFK," + b"x" * 1_048_576 + b"\n"
    too_big = await client.post(
        path, data={"csrf_token": token, "action": "check"},
        files={"file": ("huge.csv", huge, "text/csv")},
    )  # fmt: skip
    assert too_big.status_code == 413 and too_big.headers["content-type"].startswith("text/html")
    assert len(await slots_of(client, event)) == 2


async def test_slot_tool_pages_need_the_event_organizer(
    client: httpx.AsyncClient, db: Database
) -> None:
    alice = await make_account(db, client, email="alice@example.com")
    await make_account(db, client, email="bob@example.com")
    event = await make_event(client, alice)
    pages = [f"/organizer/events/{event['id']}/slots/{name}" for name in ("generate", "import")]
    for page in pages:
        anonymous = await client.get(page)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
        posted = await client.post(page, data={"action": "preview"})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")

    assert (await web_login(client, "bob@example.com")).status_code == 303
    token = await page_csrf(client, "/organizer")
    for page in pages:
        assert (await client.get(page)).status_code == 403
        upload = {"file": ("a.csv", b"position_name\nEGLL_TWR\n", "text/csv")}
        refused = await client.post(
            page, data={"csrf_token": token, "action": "create", "kind": "atc",
                        "positions": "EGLL_TWR", "block_minutes": "60"},
            files=upload if page.endswith("import") else None,
        )  # fmt: skip
        assert refused.status_code == 403, page
    assert (await client.get(f"/api/events/{event['id']}/slots.csv")).status_code == 403
    await client.post("/logout", data={"csrf_token": token})

    assert (await web_login(client, "alice@example.com")).status_code == 303
    for page in pages:
        response = await client.get(page)
        assert response.status_code == 200
        forged = await client.post(page, data={"csrf_token": "guessed", "action": "check"})
        assert forged.status_code == 403
    export = await client.get(f"/api/events/{event['id']}/slots.csv")
    assert export.status_code == 200 and export.text.startswith("position_name,position_type")
    assert csrf_of((await client.get(pages[0])).text)
    assert await slots_of(client, event) == []
