"""The booking window in a real browser: the countdown, Claim buttons coming alive, closing.

Uses the server and Chromium of tests/test_web_ui.py (its fixtures, one server for this module).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import test_web_ui as ui
from tests.test_web_ui import (
    LIVE_TIMEOUT,
    Site,
    claim_in_modal,
    expect,
    not_reloaded,
    open_event,
    pilot_slots,
    slot,
)

pytestmark = pytest.mark.browser
# The fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page

OPENS_IN = 8.0  # seconds: time to load the page and look at it before booking opens
# The visitor's computer clock is 90 minutes fast: a page trusting it would open at once.
FAST_CLIENT_CLOCK = """
(() => {
  const RealDate = Date;
  const skew = 90 * 60 * 1000;
  class FastDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skew);
      else super(...args);
    }
    static now() { return RealDate.now() + skew; }
  }
  window.Date = FastDate;
})();
"""
# The computer sleeps: the page's monotonic clock (performance.now) stops, the wall clock runs on.
SLEEPING_COMPUTER = """
(() => {
  const monotonic = performance.now.bind(performance);
  let slept = 0;
  performance.now = () => monotonic() - slept;
  window.__sleep = (ms) => { slept += ms; };
})();
"""
COUNTDOWN = re.compile(r"^(?:\d+d )?(\d{2}):(\d{2}):(\d{2})$")


def seconds_left(text: str) -> int:
    match = COUNTDOWN.match(text.strip())
    assert match, f"not a countdown: {text!r}"
    hours, minutes, seconds = (int(part) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def claim_button(page: Any, slot_id: int) -> Any:
    return slot(page, slot_id).get_by_role("button", name=re.compile("^Claim"))


def claim_link(page: Any, slot_id: int) -> Any:
    return slot(page, slot_id).get_by_role("link", name=re.compile("^Claim"))


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def patch_event(site: Site, event_id: int, **fields: Any) -> None:
    response = site.api("PATCH", f"/api/events/{event_id}", json=fields, headers=site.headers)
    assert response.status_code == 200, response.text


def test_claims_open_at_the_announced_moment_on_the_server_clock(site: Site, new_page: Any) -> None:
    opens_at = datetime.now(UTC) + timedelta(seconds=OPENS_IN)
    event = site.event(slots=pilot_slots(2), booking_opens_at=opens_at.isoformat())
    target = event["slots"][0]["id"]
    page = new_page()
    page.add_init_script(FAST_CLIENT_CLOCK)
    open_event(page, site, event["id"])

    state = page.locator("[data-role=window-state]")
    expect(state).to_contain_text("Booking is not open yet. It opens at")
    expect(state).to_contain_text(f"{opens_at:%a %d %b %Y %H%M}z")
    expect(state).to_have_attribute("aria-live", "polite")
    timer = page.locator("[data-role=window-countdown]")
    expect(timer).to_be_visible()
    expect(timer).to_contain_text("Booking opens in")
    expect(timer).to_have_attribute("aria-live", "off")
    left = seconds_left(page.locator("[data-role=countdown]").inner_text())
    assert 1 <= left <= OPENS_IN, left  # the server's clock, not the fast client's
    expect(page.locator("[data-role=window-badge]")).to_have_text("Booking not open yet")
    expect(claim_button(page, target)).to_be_disabled()
    expect(claim_link(page, target)).to_have_count(0)

    sleep_until(opens_at - timedelta(seconds=1))
    expect(claim_button(page, target)).to_be_disabled()  # not a moment early
    # The display ticks once a second; a loaded machine may run a tick late, so it has until
    # just before the opening to show the last seconds (a clock 90 minutes off never would).
    last_seconds = re.compile(r"^00:00:0[0-2]$")
    expect(page.locator("[data-role=countdown]")).to_have_text(last_seconds, timeout=900)

    late = (opens_at - datetime.now(UTC)).total_seconds() * 1000 + 1500
    expect(claim_link(page, target)).to_be_visible(timeout=late)  # at opening, give or take
    expect(state).to_contain_text("Booking is open until")
    expect(timer).to_be_hidden()
    expect(page.locator("[data-role=window-badge]")).to_have_text("Booking open")

    claim_in_modal(page, target, "Early Bird", "EZY1")
    page.get_by_role("button", name="Claim slot").click()
    expect(page.locator("[data-role=success-view]")).to_contain_text("EZY1 holds")
    expect(slot(page, target)).to_contain_text("EZY1")
    assert not_reloaded(page)


def test_the_countdown_recovers_after_the_computer_slept(site: Site, new_page: Any) -> None:
    opens_at = datetime.now(UTC) + timedelta(seconds=OPENS_IN)
    event = site.event(slots=pilot_slots(1), booking_opens_at=opens_at.isoformat())
    target = event["slots"][0]["id"]
    page = new_page()
    page.add_init_script(SLEEPING_COMPUTER)
    open_event(page, site, event["id"])
    expect(claim_button(page, target)).to_be_disabled()
    page.evaluate("window.__sleep(30000)")
    time.sleep(1.5)  # a tick notices the drift and asks the server for the time again
    left = seconds_left(page.locator("[data-role=countdown]").inner_text())
    assert left <= OPENS_IN - 1, left  # not 30 s behind
    late = (opens_at - datetime.now(UTC)).total_seconds() * 1000 + 1500
    expect(claim_link(page, target)).to_be_visible(timeout=late)
    assert not_reloaded(page)


def test_the_page_follows_the_organizers_window_changes_and_closes_on_time(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=pilot_slots(2))
    target = event["slots"][1]["id"]
    page = new_page()
    open_event(page, site, event["id"])
    state = page.locator("[data-role=window-state]")
    expect(state).to_contain_text("Booking is open until")
    expect(claim_link(page, target)).to_be_visible()

    patch_event(
        site, event["id"], booking_opens_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    expect(state).to_contain_text("Booking is not open yet", timeout=LIVE_TIMEOUT)
    left = seconds_left(page.locator("[data-role=countdown]").inner_text())
    assert 3590 <= left <= 3600, left
    expect(claim_button(page, target)).to_be_disabled()

    closes_at = datetime.now(UTC) + timedelta(seconds=4)
    patch_event(site, event["id"], booking_opens_at=None, booking_closes_at=closes_at.isoformat())
    expect(state).to_contain_text("Booking is open until", timeout=LIVE_TIMEOUT)
    expect(claim_link(page, target)).to_be_visible()

    late = (closes_at - datetime.now(UTC)).total_seconds() * 1000 + 1500
    expect(state).to_contain_text(f"Booking closed at {closes_at:%a %d %b %Y %H%M}z", timeout=late)
    expect(page.locator("[data-role=window-badge]")).to_have_text("Booking closed")
    expect(slot(page, target).locator("[data-claim], [data-claim-pending]")).to_have_count(0)
    expect(slot(page, target)).to_contain_text("Free")  # the state is text, not only colour

    patch_event(site, event["id"], status="cancelled")
    expect(state).to_have_text("Booking closed: this event was cancelled.", timeout=LIVE_TIMEOUT)
    assert not_reloaded(page)
