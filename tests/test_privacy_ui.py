"""The manage page's "Delete my personal data" in Chromium against `skyslots serve`: the
confirmation step, the roster freeing live on another visitor's page, no CSP refusal."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import test_web_ui as ui
from tests.test_web_ui import LIVE_TIMEOUT, Site, expect, not_reloaded, open_event, slot

# The browser fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page
pytestmark = pytest.mark.browser


def test_a_booker_deletes_their_personal_data_and_the_slot_frees_live(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=ui.pilot_slots(2), hold_seconds=0)
    target = event["slots"][0]
    booked = site.api(
        "POST",
        f"/api/slots/{target['id']}/book",
        json={"pilot_name": "Priya Private", "pilot_callsign": "PRV1",
              "email": "priya@privacy.example", "notes": "window seat"},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    booking = booked.json()
    watcher, booker = new_page(), new_page()
    open_event(watcher, site, event["id"])
    expect(slot(watcher, target["id"])).to_contain_text("Priya Private")

    booker.goto(f"{site.url}/bookings/{booking['id']}/manage?token={booking['manage_token']}")
    expect(booker.get_by_role("link", name="Download my data")).to_be_visible()
    booker.get_by_role("link", name="Delete my personal data…").click()
    expect(booker.get_by_role("alert")).to_contain_text("gives the slot back")
    booker.get_by_role("button", name="Yes, delete my personal data").click()
    done = booker.get_by_role("status").filter(has_text="personal data was deleted")
    expect(done).to_be_visible()
    expect(booker.locator(".facts")).to_contain_text("Deleted user")

    expect(slot(watcher, target["id"])).to_have_class(
        re.compile("slot--free"), timeout=LIVE_TIMEOUT
    )
    expect(slot(watcher, target["id"])).not_to_contain_text("Priya")
    assert not_reloaded(watcher)
    data = site.api(
        "GET",
        f"/api/bookings/{booking['id']}/data",
        headers={"X-Manage-Token": booking["manage_token"]},
    ).json()
    assert (data["booking"]["email"], data["booking"]["notes"]) == (None, "")
