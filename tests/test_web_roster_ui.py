"""The organizer's assign and move forms in the browser, reaching a visitor's open roster live."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import test_web_ui as ui
from tests.test_web_ui import LIVE_TIMEOUT, Site, expect, not_reloaded, open_event, sign_in, slot

# The browser fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page


@pytest.mark.browser
def test_assign_then_move_reach_an_open_roster(site: Site, new_page: Any) -> None:
    event = site.event(slots=ui.pilot_slots(3))
    first, second, _ = (item["id"] for item in event["slots"])
    watcher = new_page()
    open_event(watcher, site, event["id"])
    expect(slot(watcher, first)).to_have_class(re.compile("slot--free"))

    organizer = new_page()
    sign_in(organizer, site)
    organizer.goto(f"{site.url}/organizer/events/{event['id']}")
    organizer.get_by_role("link", name=re.compile("^Assign EGLL-KJFK")).click()
    organizer.get_by_label("Name", exact=True).fill("Jane Doe")
    organizer.get_by_label("Callsign").fill("baw123")
    organizer.get_by_role("button", name="Assign slot").click()
    expect(organizer.locator(".flash--success")).to_contain_text("to BAW123 (Jane Doe).")

    taken = slot(watcher, first)
    expect(taken).to_have_class(re.compile("slot--taken"), timeout=LIVE_TIMEOUT)
    expect(taken).to_contain_text("BAW123")
    expect(taken).to_contain_text("Jane Doe")
    expect(watcher.locator('[data-count="taken"]')).to_have_text("1")

    organizer.get_by_role("link", name=re.compile("^Move BAW123's booking of EGLL-KJFK")).click()
    organizer.get_by_label("Move to").select_option(str(second))
    organizer.get_by_role("button", name="Move booking").click()
    expect(organizer.locator(".flash--success")).to_contain_text(
        re.compile(r"^Moved BAW123 from EGLL-KJFK .* to EGLL-EHAM")
    )
    expect(slot(watcher, first)).to_have_class(re.compile("slot--free"), timeout=LIVE_TIMEOUT)
    moved = slot(watcher, second)
    expect(moved).to_have_class(re.compile("slot--taken"), timeout=LIVE_TIMEOUT)
    expect(moved).to_contain_text("BAW123")
    expect(watcher.locator('[data-count="taken"]')).to_have_text("1")
    assert not_reloaded(watcher)
