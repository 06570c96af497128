"""The organizer's bulk lock form: over HTTP (both engines), and in the browser, live."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from tests import test_web_ui as ui
from tests.helpers import make_account, make_event, make_slots, pilot_slots
from tests.test_web_ui import LIVE_TIMEOUT, Site, expect, not_reloaded, open_event, sign_in, slot
from tests.test_web_views import csrf_of, page_csrf, web_login

# The browser fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page


async def locked(client: httpx.AsyncClient, event_id: int) -> list[bool]:
    slots = (await client.get(f"/api/events/{event_id}")).json()["slots"]
    return [s["is_locked"] for s in slots]


async def flashes(client: httpx.AsyncClient, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("#slot-list")
    page = await client.get(response.headers["location"].split("#")[0])
    return " ".join(re.findall(r'class="flash flash--\w+">([^<]*)<', page.text))


async def test_lock_and_unlock_selected_slots_through_the_form(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    await make_account(db, client, email="rival@example.com")
    event = await make_event(client, organizer)
    slots = await make_slots(client, organizer, event, pilot_slots(3))
    ids = [str(s["id"]) for s in slots]
    path = f"/organizer/events/{event['id']}/slots/lock"

    assert (await web_login(client, organizer.email)).status_code == 303
    page = (await client.get(f"/organizer/events/{event['id']}")).text
    assert f'action="{path}" id="bulk-lock"' in page
    for slot_id in ids:
        assert f'name="slot_ids" value="{slot_id}" form="bulk-lock"' in page
    assert "Lock selected" in page and "Unlock selected" in page
    token = csrf_of(page)

    form = {"csrf_token": token, "action": "lock", "slot_ids": ids[:2]}
    assert await flashes(client, await client.post(path, data=form)) == "Locked 2 slots."
    assert await locked(client, event["id"]) == [True, True, False]
    form = {"csrf_token": token, "action": "lock", "slot_ids": ids}
    done = await flashes(client, await client.post(path, data=form))
    assert done == "Locked 1 slot (2 already were)."
    form = {"csrf_token": token, "action": "unlock", "slot_ids": [ids[1]]}
    assert await flashes(client, await client.post(path, data=form)) == "Unlocked 1 slot."
    assert await locked(client, event["id"]) == [True, False, True]

    nothing = await client.post(path, data={"csrf_token": token, "action": "lock"})
    assert await flashes(client, nothing) == "Tick at least one slot first."
    other = await make_event(client, organizer, title="Elsewhere")
    [foreign] = await make_slots(client, organizer, other, pilot_slots(1))
    mixed = {"csrf_token": token, "action": "unlock", "slot_ids": [ids[0], str(foreign["id"])]}
    refused = await flashes(client, await client.post(path, data=mixed))
    assert f"Slot {foreign['id']} is not part of event {event['id']}" in refused
    assert await locked(client, event["id"]) == [True, False, True]  # all or nothing
    audit = (await client.get(f"/organizer/events/{event['id']}/audit")).text
    assert "slots.locked" in audit and "slots.unlocked" in audit

    forged = await client.post(path, data={"action": "unlock", "slot_ids": ids})
    assert forged.status_code == 403  # no CSRF token
    await client.post("/logout", data={"csrf_token": token})
    anonymous = await client.post(path, data={"action": "unlock", "slot_ids": ids})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert (await web_login(client, "rival@example.com")).status_code == 303
    rival_token = await page_csrf(client, "/organizer")
    stranger = {"csrf_token": rival_token, "action": "unlock", "slot_ids": ids}
    assert (await client.post(path, data=stranger)).status_code == 403
    assert await locked(client, event["id"]) == [True, False, True]


@pytest.mark.browser
def test_select_all_and_lock_reaches_an_open_roster(site: Site, new_page: Any) -> None:
    event = site.event(slots=ui.atc_slots(["EGLL_TWR"], blocks=2) + ui.pilot_slots(2))
    watcher = new_page()
    open_event(watcher, site, event["id"])
    organizer = new_page()
    sign_in(organizer, site)
    organizer.goto(f"{site.url}/organizer/events/{event['id']}")
    organizer.get_by_label("Select all slots").check()
    organizer.get_by_role("button", name="Lock selected", exact=True).click()
    expect(organizer.locator(".flash--success")).to_have_text("Locked 4 slots.")

    for item in event["slots"]:
        expect(slot(watcher, item["id"])).to_have_class(
            re.compile("slot--locked"), timeout=LIVE_TIMEOUT
        )
        expect(slot(watcher, item["id"])).to_contain_text("Locked")
    expect(watcher.locator('[data-count="locked"]')).to_have_text("4")
    expect(watcher.locator('[data-count="free"]')).to_have_text("0")

    organizer.get_by_label(re.compile("^Select EGLL_TWR 1600")).check()
    organizer.get_by_role("button", name="Unlock selected", exact=True).click()
    expect(organizer.locator(".flash--success")).to_have_text("Unlocked 1 slot.")
    first = slot(watcher, event["slots"][0]["id"])
    expect(first).to_have_class(re.compile("slot--free"), timeout=LIVE_TIMEOUT)
    expect(first.get_by_role("link", name=re.compile("^Claim"))).to_be_visible()
    assert not_reloaded(watcher)
