"""Holds and waitlists in a real browser: the hold countdown in the booking modal, a held slot
seen live from a second browser, joining a waitlist and the manage page's offer countdown."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import test_web_ui as ui
from tests.test_web_ui import LIVE_TIMEOUT, Site, expect, not_reloaded, open_event, slot

# The browser fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page
pytestmark = pytest.mark.browser
SWEPT = 12_000  # ms: a hold's end plus the sweep (every 5 s) plus the message


def open_claim(page: Any, slot_id: int) -> Any:
    slot(page, slot_id).get_by_role("link", name=re.compile("^Claim")).click()
    dialog = page.locator("dialog#book")
    expect(dialog).to_be_visible()
    return dialog


def status_of(site: Site, event_id: int, slot_id: int) -> str:
    slots = site.api("GET", f"/api/events/{event_id}").json()["slots"]
    return next(s["status"] for s in slots if s["id"] == slot_id)


def test_the_modal_holds_the_slot_with_a_countdown_seen_live_elsewhere(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=ui.pilot_slots(2), hold_seconds=300)
    target = event["slots"][0]["id"]
    booker, watcher = new_page(), new_page()
    open_event(booker, site, event["id"])
    open_event(watcher, site, event["id"])

    dialog = open_claim(booker, target)
    note = dialog.locator("[data-role=hold]")
    expect(note).to_be_visible()
    expect(note).to_contain_text(re.compile(r"Held for you for (5:00|4:5\d)"))
    clock = dialog.locator("[data-role=hold-clock]")
    first = clock.text_content()
    expect(clock).not_to_have_text(first or "", timeout=3_000)  # it ticks
    assert status_of(site, event["id"], target) == "held"

    held = slot(watcher, target)
    expect(held).to_have_class(re.compile("slot--held"), timeout=LIVE_TIMEOUT)
    expect(held).to_contain_text("Held")
    expect(held).to_contain_text(re.compile(r"held · 4:\d\d|held · 5:00"))
    expect(held.get_by_role("link", name=re.compile("^Claim"))).to_have_count(0)
    shown = held.locator(".slot__clock").text_content()
    expect(held.locator(".slot__clock")).not_to_have_text(shown or "", timeout=3_000)
    expect(watcher.locator('[data-count="held"]')).to_have_text("1")

    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(slot(watcher, target)).to_have_class(re.compile("slot--free"), timeout=LIVE_TIMEOUT)
    expect(slot(booker, target).get_by_role("link", name=re.compile("^Claim"))).to_be_visible()
    assert status_of(site, event["id"], target) == "free"
    assert not_reloaded(watcher)


def test_a_hold_that_runs_out_says_so_and_can_be_tried_again(site: Site, new_page: Any) -> None:
    event = site.event(slots=ui.pilot_slots(1), hold_seconds=3)
    target = event["slots"][0]["id"]
    booker, watcher = new_page(), new_page()
    open_event(booker, site, event["id"])
    open_event(watcher, site, event["id"])
    dialog = open_claim(booker, target)
    expect(dialog.locator("[data-role=hold-clock]")).to_have_text(re.compile(r"0:0[123]"))
    expect(slot(watcher, target)).to_have_class(re.compile("slot--held"), timeout=LIVE_TIMEOUT)

    expired = dialog.locator("[data-role=hold-expired]")
    expect(expired).to_be_visible(timeout=6_000)
    expect(expired).to_contain_text("ran out")
    expect(dialog.get_by_label("Your name")).to_be_hidden()
    expect(slot(watcher, target)).to_contain_text(re.compile("releasing…|Free"), timeout=6_000)
    expect(slot(watcher, target)).to_have_class(re.compile("slot--free"), timeout=SWEPT)

    dialog.get_by_role("button", name="Try again").click()
    expect(dialog.locator("[data-role=hold]")).to_be_visible()
    dialog.get_by_label("Your name").fill("Jane Doe")
    dialog.get_by_label("Callsign").fill("BAW9")
    dialog.get_by_role("button", name="Claim slot").click()
    expect(dialog.locator("[data-role=success-view]")).to_contain_text("BAW9 holds")
    expect(slot(watcher, target)).to_contain_text("BAW9", timeout=LIVE_TIMEOUT)


def test_a_refused_hold_shows_the_reason_and_no_form(site: Site, new_page: Any) -> None:
    event = site.event(slots=ui.pilot_slots(1), hold_seconds=300)
    target = event["slots"][0]["id"]
    page = new_page()
    open_event(page, site, event["id"])
    page.evaluate("window.__noReload = true")
    held = site.api("POST", f"/api/slots/{target}/hold")  # someone faster, by the API
    assert held.status_code == 201
    page.evaluate(f"window.skyslots.modal.open({target}, null)")  # a Claim link shown just before
    dialog = page.locator("dialog#book")
    expect(dialog.locator("[data-role=conflict]")).to_contain_text("held")
    expect(dialog.get_by_label("Your name")).to_be_hidden()
    dialog.locator("[data-role=refused]").get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    site.api(
        "DELETE",
        f"/api/holds/{held.json()['hold_id']}",
        headers={"X-Hold-Token": held.json()["hold_token"]},
    )


def test_a_fixed_callsign_is_filled_in_and_read_only(site: Site, new_page: Any) -> None:
    body = {**ui.pilot_slots(1)[0], "callsign": "BAW117"}
    event = site.event(slots=[body], hold_seconds=0)
    page = new_page()
    open_event(page, site, event["id"])
    dialog = open_claim(page, event["slots"][0]["id"])
    callsign = dialog.get_by_label("Callsign")
    expect(callsign).to_have_value("BAW117")
    expect(callsign).not_to_be_editable()
    expect(dialog.locator("[data-role=fixed-hint]")).to_be_visible()
    dialog.get_by_label("Your name").fill("Jane Doe")
    dialog.get_by_role("button", name="Claim slot").click()
    expect(dialog.locator("[data-role=success-view]")).to_contain_text("BAW117 holds")


def test_joining_a_waitlist_then_the_offer_counts_down_on_the_manage_page(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=ui.pilot_slots(2), offer_seconds=60, waitlist_mode="offer")
    target = event["slots"][0]["id"]
    booking = site.book(target, "DLH4AB", "Max Muster")
    page = new_page()
    open_event(page, site, event["id"])
    slot(page, target).get_by_role("link", name=re.compile("^Join the waitlist")).click()
    dialog = page.locator("dialog#wait")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", level=2)).to_contain_text("EGLL-KJFK")
    dialog.get_by_label("Your name").fill("Wait Er")
    dialog.get_by_label("Callsign").fill("ezy12")
    dialog.get_by_role("button", name="Join waitlist").click()
    success = dialog.locator("[data-role=success-view]")
    expect(success).to_be_visible()
    expect(success).to_contain_text("You're number 1 in line")
    url = dialog.locator("[data-role=manage-url]").input_value()
    assert re.search(r"/waitlist/\d+\?token=[\w-]{20,}$", url), url

    again = new_page()
    open_event(again, site, event["id"])
    slot(again, target).get_by_role("link", name=re.compile("^Join the waitlist")).click()
    form = again.locator("dialog#wait")
    form.get_by_label("Your name").fill("Wait Er")
    form.get_by_label("Callsign").fill("EZY12")
    form.get_by_role("button", name="Join waitlist").click()
    expect(form.locator("[data-role=conflict]")).to_contain_text("already on this waitlist")

    manage = new_page()
    manage.goto(url)
    expect(manage.locator("[data-role=wait-status]")).to_have_text("Waiting")
    expect(manage.locator("[data-role=wait-position]")).to_have_text("1")
    released = site.api(
        "POST",
        f"/api/bookings/{booking['id']}/release",
        headers={"X-Manage-Token": booking["manage_token"]},
    )
    assert released.status_code == 200
    manage.reload()
    expect(manage.locator("[data-role=wait-status]")).to_have_text("Offered to you")
    clock = manage.locator("[data-role=offer-clock]")
    expect(clock).to_have_text(re.compile(r"^(1:00|0:5\d)$"))
    shown = clock.text_content()
    expect(clock).not_to_have_text(shown or "", timeout=3_000)  # it ticks
    manage.get_by_role("button", name="Accept the slot").click()
    expect(manage.get_by_role("status").filter(has_text="Accepted")).to_be_visible()
    manage.get_by_role("link", name="see or release your booking").click()
    expect(manage.get_by_role("button", name="Release this booking")).to_be_visible()
    expect(slot(page, target)).to_contain_text("EZY12", timeout=LIVE_TIMEOUT)
    assert not_reloaded(page)
