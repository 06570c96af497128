"""The organizer's waitlist page and the waitlist counts on the slots page (both engines)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from skyslots.web.organizer_waitlist import duration
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.test_web_views import web_login


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def join(client: httpx.AsyncClient, event: dict[str, Any], callsign: str, **body: Any) -> Any:
    body = {"pilot_name": f"Pilot {callsign}", "pilot_callsign": callsign, **body}
    response = await client.post(f"/api/events/{event['id']}/waitlist", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def line_of(page: str, anchor: str) -> str:
    match = re.search(
        rf'<section class="card waitlist-line" id="{anchor}"(.*?)</section>', page, re.S
    )
    assert match, f"no line {anchor}"
    return match.group(1)


def rows(section: str) -> list[list[str]]:
    """Each entry row's cells as text."""
    found = []
    for row in re.findall(r"<tr data-entry=\"\d+\">(.*?)</tr>", section, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        found.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return found


async def test_waitlist_page_groups_entries_by_target_in_line_order(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    first, second = await make_slots(client, organizer, event, pilot_slots(2))
    for slot, callsign in ((first, "BAW1"), (second, "BAW2")):
        booked = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign))
        assert booked.status_code == 201
    await join(client, event, "DLH1")  # any slot
    await join(client, event, "DLH2", slot_id=second["id"], email="Two@Example.com")
    leaver = await join(client, event, "DLH3", slot_id=second["id"])
    await join(client, event, "DLH4", slot_id=second["id"])
    await join(client, event, "DLH5", position_type="PILOT")
    await join(client, event, "DLH6", slot_id=first["id"])
    left = await client.delete(
        f"/api/waitlist/{leaver['id']}", headers={"X-Manage-Token": leaver["manage_token"]}
    )
    assert left.status_code == 204

    assert (await web_login(client, organizer.email)).status_code == 303
    page = await client.get(f"/organizer/events/{event['id']}/waitlist")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Waitlist<' in html
    assert 'data-role="waiting-total">5<' in html
    assert "30 minutes to accept" in html  # the default offer time
    anchors = re.findall(r'class="card waitlist-line" id="([\w-]+)"', html)
    assert anchors == [
        f"wait-slot-{first['id']}",
        f"wait-slot-{second['id']}",
        "wait-type-PILOT",
        "wait-event",
    ]
    line = line_of(html, f"wait-slot-{second['id']}")
    assert "EGLL-KJFK 0001" in line and "2 waiting" in line
    cells = rows(line)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in cells] == [
        ("1", "Waiting", "DLH2", "Pilot DLH2", "two@example.com"),
        ("—", "Left", "DLH3", "Pilot DLH3", "—"),
        ("2", "Waiting", "DLH4", "Pilot DLH4", "—"),
    ]
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dz", r[5]) for r in cells)
    assert 'href="mailto:two@example.com"' in line
    assert rows(line_of(html, "wait-type-PILOT"))[0][2] == "DLH5"
    assert "Any PILOT slot" in html and "Any slot of the event" in html
    assert rows(line_of(html, "wait-event"))[0][:3] == ["1", "Waiting", "DLH1"]

    slots_page = (await client.get(f"/organizer/events/{event['id']}")).text
    assert 'data-role="waiting-total">5 on the waitlist<' in slots_page
    waiting = dict(
        re.findall(r'waitlist#wait-slot-(\d+)" data-role="waiting">(\d+) waiting<', slots_page)
    )
    assert waiting == {str(first["id"]): "1", str(second["id"]): "2"}


async def test_waitlist_page_escapes_user_text(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer, title="<b>Rush</b>")
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    await join(
        client,
        event,
        "DLH1",
        slot_id=slot["id"],
        pilot_name="</td><script>alert('wait')</script>",
        email="x@example.com",
    )
    await web_login(client, organizer.email)
    html = (await client.get(f"/organizer/events/{event['id']}/waitlist")).text
    assert "<script>alert(" not in html and "</td><script>" not in html
    assert "&lt;/td&gt;&lt;script&gt;alert(&#39;wait&#39;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Rush&lt;/b&gt;" in html and "<b>Rush</b>" not in html


async def test_waitlist_page_when_nobody_waits_and_with_the_waitlist_off(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer, waitlist_mode="off")
    await web_login(client, organizer.email)
    html = (await client.get(f"/organizer/events/{event['id']}/waitlist")).text
    assert "Nobody is waiting." in html and "The waitlist is off" in html
    slots_page = (await client.get(f"/organizer/events/{event['id']}")).text
    assert 'data-role="waiting-total"' not in slots_page


async def test_promoted_and_offered_entries_are_listed_without_a_place(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer, offer_seconds=5400)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    booking = (await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))).json()
    await join(client, event, "DLH1", slot_id=slot["id"])
    await join(client, event, "DLH2", slot_id=slot["id"])
    released = await client.post(
        f"/api/bookings/{booking['id']}/release",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert released.status_code == 200
    await web_login(client, organizer.email)
    html = (await client.get(f"/organizer/events/{event['id']}/waitlist")).text
    assert "1 hour 30 minutes to accept" in html
    cells = rows(line_of(html, f"wait-slot-{slot['id']}"))
    assert [(r[0], r[1], r[2]) for r in cells] == [
        ("—", "Offered", "DLH1"),
        ("1", "Waiting", "DLH2"),
    ]


def test_duration_reads_as_people_say_it() -> None:
    assert duration(1800) == "30 minutes"
    assert duration(60) == "1 minute"
    assert duration(5400) == "1 hour 30 minutes"
    assert duration(604800) == "7 days"
    assert duration(90061) == "1 day 1 hour 1 minute 1 second"
