"""The public pages' holds and waitlists, server-rendered (both engines): held slots in the
roster, fixed callsigns in the no-JS form, joining a waitlist, the waitlist manage page."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.test_web_views import csrf_of

BIG = 2**31  # one past the largest id PostgreSQL's integer column holds


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def event_with(
    client: httpx.AsyncClient, organizer: Account, count: int = 2, **fields: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    event = await make_event(client, organizer, **fields)
    return event, await make_slots(client, organizer, event, pilot_slots(count))


def cell(page: str, slot_id: int) -> str:
    match = re.search(
        rf'<div class="slot slot--(\w+)" data-slot-id="{slot_id}"(.*?)</div>', page, re.S
    )
    assert match, f"no cell for slot {slot_id}"
    return match.group(1) + match.group(2)


def link(page: str, pattern: str) -> str:
    match = re.search(pattern, page)
    assert match, f"no link {pattern}"
    return html.unescape(match.group(1))


async def book(client: httpx.AsyncClient, slot: dict[str, Any], callsign: str) -> dict[str, Any]:
    response = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign))
    assert response.status_code == 201, response.text
    return response.json()


async def join_form(
    client: httpx.AsyncClient, event: dict[str, Any], wait: str, **fields: str
) -> httpx.Response:
    form = await client.get(f"/events/{event['id']}?wait={wait}")
    assert form.status_code == 200
    data = {"pilot_name": "Wait Er", "pilot_callsign": "DLH1", "email": "", **fields}
    return await client.post(
        f"/events/{event['id']}/waitlist", data={**data, "csrf_token": csrf_of(form.text)}
    )


async def test_a_held_slot_shows_as_held_with_its_countdown(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, (held, free) = await event_with(client, organizer, hold_seconds=300)
    hold = await client.post(f"/api/slots/{held['id']}/hold")
    assert hold.status_code == 201
    page = (await client.get(f"/events/{event['id']}")).text
    shown = cell(page, held["id"])
    assert shown.startswith("held") and "Held" in shown and "Claim" not in shown
    assert re.search(
        r'held · <span class="slot__clock" data-expires="[^"]+"[^>]*>[45]:\d\d<', shown
    )
    assert "Join waitlist" in shown  # the default waitlist mode is offer
    assert cell(page, free["id"]).startswith("free")
    assert 'data-count="held">1<' in page and 'data-count="free">1<' in page
    assert hold.json()["hold_token"] not in page

    cancelled = await client.delete(
        f"/api/holds/{hold.json()['hold_id']}", headers={"X-Hold-Token": hold.json()["hold_token"]}
    )
    assert cancelled.status_code == 204
    assert cell((await client.get(f"/events/{event['id']}")).text, held["id"]).startswith("free")


async def test_the_no_js_form_fills_in_a_fixed_callsign(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    body = {**pilot_slots(1)[0], "callsign": "BAW117"}
    (fixed,) = await make_slots(client, organizer, event, [body])
    form = (await client.get(f"/events/{event['id']}?claim={fixed['id']}")).text
    field = re.search(r'<input id="pilot_callsign"[^>]*>', form)
    assert field and 'value="BAW117"' in field.group(0) and "readonly" in field.group(0)
    assert "Fixed by the organizers" in form
    booked = await client.post(
        f"/events/{event['id']}/book/{fixed['id']}",
        data={"pilot_name": "Jane Doe", "pilot_callsign": "", "csrf_token": csrf_of(form)},
    )
    assert booked.status_code == 200 and "BAW117" in booked.text


async def test_joining_a_slots_waitlist_without_javascript(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, (taken, free) = await event_with(client, organizer)
    await book(client, taken, "BAW1")
    page = (await client.get(f"/events/{event['id']}")).text
    assert f'href="/events/{event["id"]}?wait={taken["id"]}#wait"' in page
    form = (await client.get(f"/events/{event['id']}?wait={taken['id']}")).text
    assert '<dialog id="wait"' in form and f'name="slot_id" value="{taken["id"]}"' in form

    first = await join_form(client, event, str(taken["id"]), slot_id=str(taken["id"]))
    assert first.status_code == 200, first.text
    assert "You're on the waitlist" in first.text
    assert 'data-role="wait-position">1<' in first.text
    manage = link(first.text, r'href="(/waitlist/\d+\?token=[^"]+)" data-role="wait-link"')
    second = await join_form(
        client, event, str(taken["id"]), slot_id=str(taken["id"]), pilot_callsign="dlh2"
    )
    assert 'data-role="wait-position">2<' in second.text

    again = await join_form(client, event, str(taken["id"]), slot_id=str(taken["id"]))
    assert again.status_code == 409 and "already on this waitlist" in again.text
    assert 'value="DLH1"' in again.text or 'value="dlh1"' in again.text.lower()
    booked = await join_form(
        client, event, str(taken["id"]), slot_id=str(taken["id"]), pilot_callsign="BAW1"
    )
    assert booked.status_code == 409 and "already holds a booking" in booked.text
    is_free = await join_form(client, event, str(free["id"]), slot_id=str(free["id"]))
    assert is_free.status_code == 409 and "book it instead" in is_free.text
    invalid = await join_form(
        client, event, str(taken["id"]), slot_id=str(taken["id"]), pilot_callsign="x!"
    )
    assert invalid.status_code == 422
    assert re.search(r'data-error-for="pilot_callsign"\s*>[^<]+<', invalid.text)

    view = await client.get(manage)
    assert view.status_code == 200 and "number <b>1</b> in line" in view.text


async def test_the_waitlist_form_for_any_slot_offers_the_position_types(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await event_with(client, organizer, count=1)
    await book(client, slots[0], "BAW1")
    page = (await client.get(f"/events/{event['id']}")).text
    assert 'data-role="wait-any"' in page and '<template id="wait-template">' in page
    form = (await client.get(f"/events/{event['id']}?wait=any")).text
    assert '<option value="PILOT"' in form and "Any slot of this event" in form
    joined = await join_form(client, event, "any", position_type="PILOT")
    assert joined.status_code == 200 and 'data-role="wait-position">1<' in joined.text


async def test_no_waitlist_links_when_the_waitlist_is_off(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await event_with(client, organizer, count=1, waitlist_mode="off")
    await book(client, slots[0], "BAW1")
    page = (await client.get(f"/events/{event['id']}")).text
    assert "Join waitlist" not in page and 'data-role="wait-any"' not in page
    refused = await join_form(client, event, "any")
    assert refused.status_code == 409 and "has no waitlist" in refused.text


async def test_the_waitlist_form_needs_the_csrf_token(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await event_with(client, organizer, count=1)
    await book(client, slots[0], "BAW1")
    body = {"pilot_name": "A", "pilot_callsign": "DLH1", "slot_id": str(slots[0]["id"])}
    refused = await client.post(f"/events/{event['id']}/waitlist", data=body)
    assert refused.status_code == 403


async def test_the_manage_page_leaves_the_line(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await event_with(client, organizer, count=1)
    await book(client, slots[0], "BAW1")
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "Wait <b>Er</b>", "pilot_callsign": "DLH1", "slot_id": slots[0]["id"]},
    )
    entry = joined.json()
    path = f"/waitlist/{entry['id']}"
    page = await client.get(f"{path}?token={entry['manage_token']}")
    assert page.status_code == 200
    assert "Waiting" in page.text and 'data-role="wait-position">1<' in page.text
    assert "Leave the waitlist" in page.text
    assert (await client.get(f"{path}?token=wrong")).status_code == 403
    missing = await client.get(f"/waitlist/999999?token={entry['manage_token']}")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")

    left = await client.post(
        path,
        data={"token": entry["manage_token"], "action": "leave", "csrf_token": csrf_of(page.text)},
    )
    assert left.status_code == 200 and "You left the waitlist" in left.text
    assert "no longer on this waitlist" in left.text
    state = await client.get(
        f"/api/waitlist/{entry['id']}", headers={"X-Manage-Token": entry["manage_token"]}
    )
    assert state.json()["status"] == "left"


async def offered_entry(
    client: httpx.AsyncClient, organizer: Account
) -> tuple[dict[str, Any], dict[str, Any], httpx.Response]:
    """An entry offered the slot its booker released; its manage page."""
    event, slots = await event_with(client, organizer, count=1, offer_seconds=600)
    booking = await book(client, slots[0], "BAW1")
    entry = (
        await client.post(
            f"/api/events/{event['id']}/waitlist",
            json={"pilot_name": "Wait Er", "pilot_callsign": "DLH1", "slot_id": slots[0]["id"]},
        )
    ).json()
    released = await client.post(
        f"/api/bookings/{booking['id']}/release",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert released.status_code == 200, released.text
    page = await client.get(f"/waitlist/{entry['id']}?token={entry['manage_token']}")
    assert page.status_code == 200
    return slots[0], entry, page


async def test_the_manage_page_shows_an_offer_to_accept(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    slot, entry, page = await offered_entry(client, organizer)
    assert "Offered to you" in page.text and "EGLL-KJFK 0000" in page.text
    clock = re.search(
        r'data-role="offer-clock" data-expires="([^"]+)"[^>]*>(\d+):(\d\d)<', page.text
    )
    assert clock and 9 <= int(clock.group(2)) <= 10
    assert "Accept the slot" in page.text and "Decline" in page.text

    accepted = await client.post(
        f"/waitlist/{entry['id']}",
        data={"token": entry["manage_token"], "action": "accept", "csrf_token": csrf_of(page.text)},
    )
    assert accepted.status_code == 200 and "Accepted" in accepted.text and "Booked" in accepted.text
    booking = link(
        accepted.text, r'href="(/bookings/\d+/manage\?token=[^"]+)" data-role="booking-link"'
    )
    managed = await client.get(booking)  # the waitlist token manages the booking too
    assert (
        managed.status_code == 200
        and "DLH1" in managed.text
        and "Release this booking" in managed.text
    )
    event_slots = (await client.get(f"/api/events/{slot['event_id']}")).json()["slots"]
    assert event_slots[0]["booking"]["pilot_callsign"] == "DLH1"


async def test_declining_an_offer_from_the_manage_page(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    slot, entry, page = await offered_entry(client, organizer)
    declined = await client.post(
        f"/waitlist/{entry['id']}",
        data={
            "token": entry["manage_token"],
            "action": "decline",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert declined.status_code == 200 and "Declined" in declined.text
    event_slots = (await client.get(f"/api/events/{slot['event_id']}")).json()["slots"]
    assert event_slots[0]["status"] == "free"


async def test_public_routes_refuse_out_of_range_ids(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await event_with(client, organizer, count=1)
    page = await client.get(f"/events/{event['id']}")
    token = csrf_of(page.text)
    for path in (f"/events/{BIG}", f"/events/{BIG}/roster", f"/waitlist/{BIG}?token=x"):
        assert (await client.get(path)).status_code == 422, path
    for path in (
        f"/events/{BIG}/book/{slots[0]['id']}",
        f"/events/{event['id']}/book/{BIG}",
        f"/events/{BIG}/waitlist",
        f"/waitlist/{BIG}",
    ):
        response = await client.post(path, data={"csrf_token": token, "token": "x"})
        assert response.status_code == 422, path
    assert (await client.get(f"/events/{event['id']}?claim={BIG}")).status_code == 200
