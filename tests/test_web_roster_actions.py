"""The organizer's roster forms over HTTP (both engines): assign, move, release all, held slots."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database, utcnow
from skyslots.models import Role
from tests.helpers import (
    Account,
    booking_body,
    make_account,
    make_event,
    make_slots,
    pilot_slots,
)
from tests.test_web_views import csrf_of, page_csrf, web_login


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def signed_in(client: httpx.AsyncClient, account: Account) -> str:
    """Sign the browser in; returns the session's CSRF token."""
    assert (await web_login(client, account.email)).status_code == 303
    return await page_csrf(client, "/organizer")


async def slots_of(client: httpx.AsyncClient, event: dict[str, Any]) -> dict[int, dict[str, Any]]:
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    return {s["id"]: s for s in detail["slots"]}


async def followed(client: httpx.AsyncClient, response: httpx.Response) -> tuple[str, str]:
    """A 303's target page (fragment dropped) and the flash messages it shows."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    page = (await client.get(location.split("#")[0])).text
    return location, " ".join(re.findall(r'class="flash flash--\w+">([^<]*)<', page))


def error_for(html: str, field: str) -> str:
    match = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert match, f"no error element for {field}"
    return match.group(1).strip()


def alert(html: str) -> str:
    match = re.search(r'class="alert alert--error" role="alert">([^<]*)<', html)
    assert match, "no error alert on the page"
    return match.group(1)


async def test_assign_books_a_named_person_past_window_and_lock(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    opens = (utcnow() + timedelta(days=1)).isoformat()
    event = await make_event(client, organizer, booking_opens_at=opens)
    locked, free = await make_slots(
        client,
        organizer,
        event,
        [{"position_name": "EGLL_TWR", "is_locked": True}, {"position_name": "EGLL_GND"}],
    )
    token = await signed_in(client, organizer)
    roster = (await client.get(f"/organizer/events/{event['id']}")).text
    assert f'href="/organizer/slots/{locked["id"]}/assign"' in roster
    page = await client.get(f"/organizer/slots/{locked['id']}/assign")
    assert page.status_code == 200 and 'data-role="assign-form"' in page.text
    assert "the lock on this slot" in page.text

    path = f"/organizer/slots/{locked['id']}/assign"
    body = {"csrf_token": token, "pilot_name": "Jane <Doe>", "pilot_callsign": "baw1",
            "email": "Jane@Example.com", "notes": "by phone"}  # fmt: skip
    location, flash = await followed(client, await client.post(path, data=body))
    assert location == f"/organizer/events/{event['id']}#slot-{locked['id']}"
    assigned, link = flash.split(": http://testserver/")
    assert assigned == (
        "Assigned EGLL_TWR to BAW1 (Jane &lt;Doe&gt;). Send them their manage link, shown only"
        " now, to see or release the booking"
    )
    managed = await client.get(f"/{link}")  # the link the person gets
    assert managed.status_code == 200 and "EGLL_TWR" in managed.text and "BAW1" in managed.text
    booking = (await slots_of(client, event))[locked["id"]]["booking"]
    assert booking["pilot_callsign"] == "BAW1" and booking["pilot_name"] == "Jane <Doe>"
    private = await client.get(f"/api/events/{event['id']}/bookings", headers=organizer.headers)
    assert [(b["email"], b["notes"]) for b in private.json()] == [("jane@example.com", "by phone")]
    audit = (await client.get(f"/organizer/events/{event['id']}/audit")).text
    assert "booking.assigned" in audit

    roster = (await client.get(f"/organizer/events/{event['id']}")).text
    assert f'href="/organizer/slots/{locked["id"]}/assign"' not in roster  # taken now
    assert f'href="/organizer/slots/{free["id"]}/assign"' in roster
    taken = await client.get(path)
    assert taken.status_code == 200 and 'data-role="assign-form"' not in taken.text
    assert "BAW1 (Jane &lt;Doe&gt;) holds this slot" in taken.text


async def test_assign_shows_conflicts_and_field_errors(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer, max_slots_per_person=2)
    slots = await make_slots(client, organizer, event, pilot_slots(5))
    token = await signed_in(client, organizer)

    def form(callsign: str, **extra: str) -> dict[str, str]:
        return {"csrf_token": token, "pilot_name": "Jane Doe", "pilot_callsign": callsign, **extra}

    async def assign(slot: dict[str, Any], data: dict[str, str]) -> httpx.Response:
        return await client.post(f"/organizer/slots/{slot['id']}/assign", data=data)

    bad = await assign(slots[0], form("B!", pilot_name=" ", email="nope"))
    assert bad.status_code == 422
    for field in ("pilot_name", "pilot_callsign", "email"):
        assert error_for(bad.text, field), field
    assert 'value="B!"' in bad.text  # what was typed is kept

    assert (await assign(slots[0], form("BAW1"))).status_code == 303
    assert (await assign(slots[1], form("BAW1"))).status_code == 303  # two per person here
    limit = await assign(slots[2], form("baw1"))
    assert limit.status_code == 409
    assert "BAW1 already holds 2 slots in this event" in alert(limit.text)
    assert 'value="baw1"' in limit.text and 'data-role="assign-form"' in limit.text

    taken = await assign(slots[0], form("DLH1"))
    assert taken.status_code == 409 and "was just claimed by BAW1" in alert(taken.text)

    hold = await client.post(f"/api/slots/{slots[3]['id']}/hold")
    assert hold.status_code == 201, hold.text
    held = await assign(slots[3], form("DLH1"))
    assert held.status_code == 409 and "is held until" in alert(held.text)

    one_each = await make_event(client, organizer, title="One each")
    first, second = await make_slots(client, organizer, one_each, pilot_slots(2))
    assert (await assign(first, form("KLM1"))).status_code == 303
    twice = await assign(second, form("klm1"))
    assert twice.status_code == 409
    assert "KLM1 already holds a slot in this event" in alert(twice.text)
    assert (await slots_of(client, one_each))[second["id"]]["booking"] is None


async def test_held_slots_show_as_held_until_their_time(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    held, free = await make_slots(client, organizer, event, pilot_slots(2))
    hold = (await client.post(f"/api/slots/{held['id']}/hold")).json()
    await signed_in(client, organizer)
    page = (await client.get(f"/organizer/events/{event['id']}")).text
    row = re.search(rf'id="slot-{held["id"]}">(.*?)</tr>', page, re.S)
    assert row, "no row for the held slot"
    assert 'class="state state--held">Held<' in row.group(1)
    until = re.search(r'data-role="held-until">until (.*?)</span>', row.group(1), re.S)
    assert until and hold["expires_at"][:16].replace("T", " ") in _iso_times(until.group(1))
    assert f"/organizer/slots/{held['id']}/assign" not in page
    assert f"/organizer/slots/{free['id']}/assign" in page
    other = re.search(rf'id="slot-{free["id"]}">(.*?)</tr>', page, re.S)
    assert other and 'state--free">Free<' in other.group(1)


def _iso_times(html: str) -> list[str]:
    return [t[:16].replace("T", " ") for t in re.findall(r'datetime="([^"]+)"', html)]


async def test_move_a_booking_through_the_form(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    first, second, third, fourth = await make_slots(client, organizer, event, pilot_slots(4))
    booking = await client.post(f"/api/slots/{first['id']}/book", json=booking_body("BAW1"))
    other = await client.post(f"/api/slots/{third['id']}/book", json=booking_body("KLM1"))
    booking_id, other_id = booking.json()["id"], other.json()["id"]
    await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "W", "pilot_callsign": "DLH1", "slot_id": first["id"]},
    )
    token = await signed_in(client, organizer)
    roster = (await client.get(f"/organizer/events/{event['id']}")).text
    assert f'href="/organizer/bookings/{booking_id}/move"' in roster
    bookings = (await client.get(f"/organizer/events/{event['id']}/bookings")).text
    assert f'href="/organizer/bookings/{booking_id}/move"' in bookings

    path = f"/organizer/bookings/{booking_id}/move"
    page = (await client.get(path)).text
    options = re.findall(r'<option value="(\d+)"', page)
    assert options == [str(second["id"]), str(fourth["id"])]  # free ones only, not its own

    empty = await client.post(path, data={"csrf_token": token, "slot_id": ""})
    assert empty.status_code == 422 and error_for(empty.text, "slot_id")
    busy = await client.post(path, data={"csrf_token": token, "slot_id": str(third["id"])})
    assert busy.status_code == 409 and "was just claimed by KLM1" in alert(busy.text)
    elsewhere = await make_event(client, organizer, title="Elsewhere")
    [foreign] = await make_slots(client, organizer, elsewhere, pilot_slots(1))
    wrong = await client.post(path, data={"csrf_token": token, "slot_id": str(foreign["id"])})
    assert wrong.status_code == 422 and "is not a slot of this event" in error_for(
        wrong.text, "slot_id"
    )
    assert (await slots_of(client, event))[first["id"]]["booking"]["id"] == booking_id

    moved = await client.post(path, data={"csrf_token": token, "slot_id": str(second["id"])})
    location, flash = await followed(client, moved)
    assert location == f"/organizer/events/{event['id']}#slot-{second['id']}"
    assert flash == "Moved BAW1 from EGLL-KJFK 0000 to EGLL-KJFK 0001."
    slots = await slots_of(client, event)
    assert slots[second["id"]]["booking"]["pilot_callsign"] == "BAW1"
    assert slots[first["id"]]["status"] == "held"  # offered to DLH1, first in its line

    # The slot it left is held for the waiter: moving another booking there is refused.
    held = await client.post(
        f"/organizer/bookings/{other_id}/move",
        data={"csrf_token": token, "slot_id": str(first["id"])},
    )
    assert held.status_code == 409 and "is held for the next person" in alert(held.text)
    assert "booking.moved" in (await client.get(f"/organizer/events/{event['id']}/audit")).text


async def test_release_all_needs_the_exact_title(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer, title="Rush <Hour>")
    slots = await make_slots(client, organizer, event, pilot_slots(3))
    for number, slot in enumerate(slots[:2]):
        claim = await client.post(
            f"/api/slots/{slot['id']}/book", json=booking_body(f"BAW{number}")
        )
        assert claim.status_code == 201
    token = await signed_in(client, organizer)
    bookings = (await client.get(f"/organizer/events/{event['id']}/bookings")).text
    path = f"/organizer/events/{event['id']}/bookings/release-all"
    assert f'href="{path}"' in bookings
    page = (await client.get(path)).text
    assert 'data-role="claimed">2<' in page and "not</b> offered to anyone on a waitlist" in page
    assert "Rush &lt;Hour&gt;" in page and "Rush <Hour>" not in page

    for typed in ("", "rush <hour>", "Rush", "x" * 201):
        wrong = await client.post(path, data={"csrf_token": token, "confirm": typed})
        assert wrong.status_code == 422, typed
        assert error_for(wrong.text, "confirm"), typed
    assert all(s["booking"] for s in list((await slots_of(client, event)).values())[:2])
    audit = (await client.get(f"/organizer/events/{event['id']}/audit")).text
    assert "bookings.released_all" not in audit

    done = await client.post(path, data={"csrf_token": token, "confirm": "Rush <Hour>"})
    location, flash = await followed(client, done)
    assert location == f"/organizer/events/{event['id']}/bookings"
    assert flash == "Released 2 bookings."
    assert all(s["status"] == "free" for s in (await slots_of(client, event)).values())
    again = await client.post(path, data={"csrf_token": token, "confirm": "Rush <Hour>"})
    assert (await followed(client, again))[1] == "There were no bookings to release."


@pytest.fixture
async def setting(client: httpx.AsyncClient, db: Database, organizer: Account) -> dict[str, Any]:
    """An event with a free slot, a claimed one (and its booking), and two more accounts."""
    event = await make_event(client, organizer)
    free, taken = await make_slots(client, organizer, event, pilot_slots(2))
    booking = await client.post(f"/api/slots/{taken['id']}/book", json=booking_body("BAW1"))
    await make_account(db, client, email="rival@example.com")
    await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    return {"event": event, "free": free, "taken": taken, "booking": booking.json()}


def routes(s: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every new organizer route: its path, and a form that would succeed for the owner."""
    event_id, booking_id = s["event"]["id"], s["booking"]["id"]
    return [
        (f"/organizer/slots/{s['free']['id']}/assign",
         {"pilot_name": "Eve", "pilot_callsign": "EVE1"}),
        (f"/organizer/bookings/{booking_id}/move", {"slot_id": str(s["free"]["id"])}),
        (f"/organizer/events/{event_id}/bookings/release-all", {"confirm": s["event"]["title"]}),
        (f"/organizer/events/{event_id}/waitlist", {}),
    ]  # fmt: skip


async def unchanged(client: httpx.AsyncClient, s: dict[str, Any]) -> None:
    slots = await slots_of(client, s["event"])
    assert slots[s["free"]["id"]]["booking"] is None
    assert slots[s["taken"]["id"]]["booking"]["id"] == s["booking"]["id"]


async def test_new_pages_send_a_signed_out_browser_to_sign_in(
    client: httpx.AsyncClient, setting: dict[str, Any]
) -> None:
    await page_csrf(client, "/login")  # a session, but nobody signed in
    for path, form in routes(setting):
        shown = await client.get(path)
        assert shown.status_code == 303, path
        assert shown.headers["location"].startswith("/login?next=%2Forganizer%2F"), path
        if form:
            posted = await client.post(path, data=form)
            assert posted.status_code == 303, path
            assert posted.headers["location"] == "/login?next=%2Forganizer", path
    await unchanged(client, setting)


async def test_new_forms_refuse_a_missing_or_forged_csrf_token(
    client: httpx.AsyncClient, setting: dict[str, Any], organizer: Account
) -> None:
    await signed_in(client, organizer)
    for path, form in routes(setting):
        if not form:
            continue
        assert (await client.post(path, data=form)).status_code == 403, path
        forged = await client.post(path, data={**form, "csrf_token": "guessed"})
        assert forged.status_code == 403, path
        assert "did not come from SkySlots" in forged.text
    await unchanged(client, setting)


@pytest.mark.parametrize("email", ["rival@example.com", "member@example.com"])
async def test_new_pages_refuse_another_organizer_and_a_member(
    client: httpx.AsyncClient, setting: dict[str, Any], email: str
) -> None:
    assert (await web_login(client, email)).status_code == 303
    token = csrf_of((await client.get("/")).text)
    for path, form in routes(setting):
        assert (await client.get(path)).status_code == 403, path
        if form:
            refused = await client.post(path, data={**form, "csrf_token": token})
            assert refused.status_code == 403, path
    await unchanged(client, setting)


async def test_new_pages_for_unknown_rows_are_404_pages(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    token = await signed_in(client, organizer)
    for path in ("/organizer/slots/999999/assign", "/organizer/bookings/999999/move",
                 "/organizer/events/999999/bookings/release-all",
                 "/organizer/events/999999/waitlist"):  # fmt: skip
        shown = await client.get(path)
        assert shown.status_code == 404 and shown.headers["content-type"].startswith("text/html")
        if not path.endswith("waitlist"):
            posted = await client.post(path, data={"csrf_token": token, "confirm": "x"})
            assert posted.status_code == 404, path
    huge = await client.get(f"/organizer/slots/{2**40}/assign")
    assert huge.status_code == 422  # out of range for an id: refused before the database


async def test_out_of_range_ids_never_reach_the_database(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    token = await signed_in(client, organizer)
    huge = 2**40  # beyond a 32-bit serial: PostgreSQL's driver would refuse it with a 500
    gets = [f"/organizer/events/{huge}{tail}" for tail in
            ("", "/edit", "/bookings", "/audit", "/waitlist", "/bookings/release-all",
             "/slots/generate", "/slots/import")]  # fmt: skip
    gets += [f"/organizer/slots/{huge}/assign", f"/organizer/bookings/{huge}/move"]
    posts = [f"/organizer/events/{huge}{tail}" for tail in
             ("/edit", "/status", "/slots", "/slots/bulk", "/slots/lock", "/slots/generate",
              "/bookings/release-all")]  # fmt: skip
    posts += [f"/organizer/slots/{huge}", f"/organizer/bookings/{huge}/release",
              f"/organizer/slots/{huge}/assign", f"/organizer/bookings/{huge}/move"]  # fmt: skip
    for path in gets:
        assert (await client.get(path)).status_code == 422, path
    for path in posts:
        assert (await client.post(path, data={"csrf_token": token})).status_code == 422, path
