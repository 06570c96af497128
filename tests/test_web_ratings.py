"""Chromium against a real server: the grid's rating badge, "Sign in to book" for visitors, a
disabled Claim (with its reason) for a controller rated too low, and a signed-in controller
booking in the modal without typing a name, then finding it on My bookings."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from tests import test_web_ui as ui
from tests.servers import server_env
from tests.test_web_ui import PASSWORD, Site, atc_slots, expect, open_event, slot

# The browser fixtures of tests/test_web_ui.py, shared under their own names.
site, browser, new_page = ui.site, ui.browser, ui.new_page
pytestmark = pytest.mark.browser


def member(site: Site, email: str, name: str, rating: int, short: str) -> str:
    """A member account (the CLI), with the rating VATSIM Connect would have stored."""
    subprocess.run(
        [sys.executable, "-m", "skyslots", "users", "create", "--email", email, "--name", name,
         "--role", "member", "--password", PASSWORD],
        env=server_env(site.database_url), check=True, capture_output=True,
    )  # fmt: skip
    path = site.database_url.split("///", 1)[1]
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE users SET rating_id = ?, rating_short = ? WHERE email = ?",
            (rating, short, email),
        )
    return email


def sign_in_to(page: Any, site: Site, email: str, event_id: int) -> None:
    page.goto(f"{site.url}/login?next=/events/{event_id}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/events/{event_id}$"))
    expect(page.locator("#live")).to_have_attribute("data-state", "live")


def test_rated_slots_in_the_grid_and_booking_signed_in(site: Site, new_page: Any) -> None:
    slots = atc_slots(["EGLL_GND", "EGLL_TWR"], blocks=1)
    slots[1]["min_rating"] = 3  # EGLL_TWR: S2 or higher
    event = site.event(slots=slots)
    gnd, twr = (s["id"] for s in event["slots"])
    low = member(site, "low@example.com", "Low Rated", 2, "S1")
    rated = member(site, "rated@example.com", "Rated Controller", 3, "S2")

    visitor = new_page()
    open_event(visitor, site, event["id"])
    expect(slot(visitor, twr).locator("[data-role=rating-badge]")).to_have_text("S2+")
    expect(slot(visitor, gnd).locator("[data-role=rating-badge]")).to_have_count(0)
    sign_in_link = slot(visitor, twr).get_by_role("link", name=re.compile("Sign in to book"))
    expect(sign_in_link).to_have_attribute("href", f"/login?next=%2Fevents%2F{event['id']}")
    expect(slot(visitor, gnd).get_by_role("link", name=re.compile("^Claim"))).to_be_visible()

    too_low = new_page()
    sign_in_to(too_low, site, low, event["id"])
    refused = slot(too_low, twr).locator("[data-claim-refused]")
    expect(refused).to_be_disabled()
    expect(refused).to_have_attribute("title", "EGLL_TWR needs S2 or higher; your rating is S1.")
    expect(slot(too_low, twr).locator("[data-role=gate-reason]")).to_have_text(
        "Needs S2+ (you: S1)"
    )

    booker = new_page()
    sign_in_to(booker, site, rated, event["id"])
    expect(booker.get_by_role("link", name="My bookings")).to_be_visible()
    slot(booker, twr).get_by_role("link", name=re.compile("^Claim")).click()
    dialog = booker.locator("dialog#book")
    expect(dialog.locator("[data-role=booking-as]")).to_contain_text("Booking as Rated Controller")
    expect(dialog.get_by_label("Your name")).to_have_count(0)
    expect(dialog.locator("[data-role=hold]")).to_be_visible()  # held first, as for anyone
    dialog.get_by_label("Callsign").fill("EGLLTWR")
    dialog.get_by_role("button", name="Claim slot").click()
    expect(dialog.locator("[data-role=success-title]")).to_be_visible()
    expect(dialog.locator("[data-role=success-text]")).to_contain_text("EGLLTWR holds EGLL_TWR")

    # The others see it taken live; the badge stays with the re-rendered cell.
    for page in (visitor, too_low):
        expect(slot(page, twr)).to_have_class(re.compile("slot--taken"))
        expect(slot(page, twr)).to_contain_text("Rated Controller")
        expect(slot(page, twr).locator("[data-role=rating-badge]")).to_have_text("S2+")

    booker.goto(f"{site.url}/me/bookings")
    row = booker.locator("[data-role=my-bookings] tbody tr").first
    expect(row).to_contain_text("EGLL_TWR")
    expect(row).to_contain_text("Booked")
    row.get_by_role("button", name=re.compile("^Release")).click()  # the confirm is accepted
    expect(booker.locator(".flash")).to_contain_text("Released EGLLTWR's booking")
    expect(slot(visitor, twr).locator("[data-signin]")).to_be_visible()  # free again, live
