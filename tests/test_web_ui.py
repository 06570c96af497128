"""The web UI in a real browser: Debian's Chromium driven by Playwright against `skyslots serve`.

Each test gets its own event on one real server process (migrated SQLite, in-process realtime).
Screenshots go to test-artifacts/screenshots/ (named in the output); with
SKYSLOTS_TEST_UPDATE_SCREENSHOTS=1 they are also copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyslots.migrate import migrate
from tests.conftest import service_missing
from tests.servers import RunningServer, server_env, start_server

pytestmark = pytest.mark.browser

# Debian's Chromium; SKYSLOTS_TEST_CHROMIUM points elsewhere (e.g. a distribution without it).
CHROMIUM = Path(os.environ.get("SKYSLOTS_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
ORGANIZER = "organizer@example.com"
PASSWORD = "correct horse battery"
LIVE_TIMEOUT = 5_000  # ms; the WebSocket delivers within a second, polling within a few


@dataclass
class Site:
    server: RunningServer
    database_url: str
    headers: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.base_url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=10, **kwargs)

    def event(self, *, slots: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """A published event with these slots, created through the REST API."""
        start = event_start()
        body = {
            "title": "Heathrow Evening Rush",
            "description": "Join London control for a busy evening at **Heathrow**.",
            "start_datetime": start.isoformat(),
            "end_datetime": (start + timedelta(hours=6)).isoformat(),
            "airport_icao": "EGLL",
            "status": "published",
            **fields,
        }
        event = self.api("POST", "/api/events", json=body, headers=self.headers)
        assert event.status_code == 201, event.text
        created = self.api(
            "POST", f"/api/events/{event.json()['id']}/slots/bulk", json=slots, headers=self.headers
        )
        assert created.status_code == 201, created.text
        return {**event.json(), "slots": created.json()}

    def book(self, slot_id: int, callsign: str, name: str = "Jane Doe") -> dict[str, Any]:
        response = self.api(
            "POST",
            f"/api/slots/{slot_id}/book",
            json={"pilot_name": name, "pilot_callsign": callsign},
        )
        assert response.status_code == 201, response.text
        return response.json()


def event_start() -> datetime:
    return datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0) + timedelta(days=2)


def atc_slots(positions: list[str], blocks: int = 3, hours: int = 2) -> list[dict[str, Any]]:
    start = event_start()
    return [
        {
            "position_name": position,
            "start_time": (start + timedelta(hours=hours * i)).isoformat(),
            "end_time": (start + timedelta(hours=hours * (i + 1))).isoformat(),
        }
        for position in positions
        for i in range(blocks)
    ]


def pilot_slots(count: int, every: int = 4) -> list[dict[str, Any]]:
    first = event_start() + timedelta(hours=1)
    routes = ["KJFK", "EHAM", "LFPG", "EDDF", "KBOS", "LEMD"]
    return [
        {
            "position_name": f"EGLL-{routes[i % len(routes)]}",
            "position_type": "PILOT",
            "start_time": (first + timedelta(minutes=every * i)).isoformat(),
            "end_time": (first + timedelta(minutes=every * (i + 1))).isoformat(),
            "notes": "Departure slot (CTOT)",
        }
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('web-ui') / 'skyslots.db'}"
    migrate(database_url)
    subprocess.run(
        [sys.executable, "-m", "skyslots", "users", "create", "--email", ORGANIZER,
         "--name", "Event Staff", "--role", "organizer", "--password", PASSWORD],
        env=server_env(database_url), check=True, capture_output=True,
    )  # fmt: skip
    with start_server(database_url) as server:
        token = httpx.post(
            f"{server.base_url}/api/auth/token", data={"username": ORGANIZER, "password": PASSWORD}
        ).json()["access_token"]
        yield Site(server, database_url, {"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", "not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_missing("Playwright for Python", exc)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Pages in separate browser contexts (separate visitors); JS errors and anything the
    Content-Security-Policy refuses fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                errors.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def slot(page: Any, slot_id: int) -> Any:
    return page.locator(f'#roster .slot[data-slot-id="{slot_id}"]')


def open_event(page: Any, site: Site, event_id: int, *, live: bool = True) -> None:
    page.goto(f"{site.url}/events/{event_id}")
    if live:
        expect(page.locator("#live")).to_have_attribute("data-state", "live")
    page.evaluate("window.__noReload = true")


def not_reloaded(page: Any) -> bool:
    return bool(page.evaluate("window.__noReload === true"))


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def claim_in_modal(page: Any, slot_id: int, name: str, callsign: str) -> None:
    slot(page, slot_id).get_by_role("link", name=re.compile("^Claim")).click()
    dialog = page.locator("dialog#book")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Your name").fill(name)
    dialog.get_by_label("Callsign").fill(callsign)


def sign_in(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/organizer")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(ORGANIZER)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your events")).to_be_visible()


def test_visitor_books_in_the_modal_and_another_sees_it_live(site: Site, new_page: Any) -> None:
    event = site.event(slots=atc_slots(["EGLL_DEL", "EGLL_TWR"]) + pilot_slots(4))
    target = event["slots"][4]  # EGLL_TWR, second block
    booker, watcher = new_page(), new_page()
    open_event(booker, site, event["id"])
    open_event(watcher, site, event["id"])
    expect(slot(watcher, target["id"])).to_have_class(re.compile("slot--free"))

    claim_in_modal(booker, target["id"], "Jane Doe", "baw123")
    booker.get_by_label("Email").fill("jane@example.com")
    booker.get_by_role("button", name="Claim slot").click()

    success = booker.locator("[data-role=success-view]")
    expect(success).to_be_visible()
    expect(success).to_contain_text("BAW123 holds EGLL_TWR")
    manage_url = booker.locator("[data-role=manage-url]").input_value()
    assert re.search(r"/bookings/\d+/manage\?token=[\w-]{20,}", manage_url), manage_url
    expect(slot(booker, target["id"])).to_contain_text("BAW123")

    watched = slot(watcher, target["id"])
    expect(watched).to_have_class(re.compile("slot--taken"), timeout=LIVE_TIMEOUT)
    expect(watched).to_contain_text("Taken")
    expect(watched).to_contain_text("BAW123")
    expect(watched).to_contain_text("Jane Doe")
    expect(watcher.locator('[data-count="taken"]')).to_have_text("1")
    assert not_reloaded(watcher)


def test_second_visitor_to_submit_sees_the_conflict(site: Site, new_page: Any) -> None:
    # Without holds (hold_seconds 0) both can open the form; the claim decides.
    event = site.event(slots=atc_slots(["EGLL_TWR"], blocks=2), hold_seconds=0)
    target = event["slots"][0]
    first, second = new_page(), new_page()
    for page, name, callsign in ((first, "Ann Air", "AAA111"), (second, "Bob Sky", "BBB222")):
        open_event(page, site, event["id"])
        claim_in_modal(page, target["id"], name, callsign)

    first.get_by_role("button", name="Claim slot").click()
    expect(first.locator("[data-role=success-view]")).to_be_visible()
    second.get_by_role("button", name="Claim slot").click()

    conflict = second.locator("[data-role=conflict]")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(re.compile(r"EGLL_TWR 1600z.2000z|EGLL_TWR 1600"))
    expect(conflict).to_contain_text("was just claimed by AAA111")
    expect(second.locator("dialog#book [data-role=success-view]")).to_be_hidden()
    expect(slot(second, target["id"])).to_have_class(re.compile("slot--taken"))
    expect(slot(second, target["id"])).to_contain_text("AAA111")


def test_booker_releases_with_the_manage_link_and_others_see_it_free(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=pilot_slots(3))
    target = event["slots"][1]
    booking = site.book(target["id"], "DLH4AB", "Max Muster")
    watcher, booker = new_page(), new_page()
    open_event(watcher, site, event["id"])
    expect(slot(watcher, target["id"])).to_contain_text("DLH4AB")

    booker.goto(f"{site.url}/bookings/{booking['id']}/manage?token={booking['manage_token']}")
    expect(booker.get_by_role("heading", level=1)).to_contain_text("EGLL-EHAM")
    booker.get_by_role("button", name="Release this booking").click()
    expect(booker.get_by_role("status").filter(has_text="Released")).to_be_visible()

    expect(slot(watcher, target["id"])).to_have_class(
        re.compile("slot--free"), timeout=LIVE_TIMEOUT
    )
    expect(slot(watcher, target["id"])).to_contain_text("Free")
    claim = slot(watcher, target["id"]).get_by_role("link", name=re.compile("Claim"))
    expect(claim).to_be_visible()
    assert not_reloaded(watcher)


def test_organizer_changes_reach_an_open_page_without_reload(site: Site, new_page: Any) -> None:
    event = site.event(slots=atc_slots(["EGLL_TWR"], blocks=2))
    page = new_page()
    open_event(page, site, event["id"])
    first = event["slots"][0]
    locked = site.api(
        "PATCH", f"/api/slots/{first['id']}", json={"is_locked": True}, headers=site.headers
    )
    assert locked.status_code == 200
    expect(slot(page, first["id"])).to_have_class(re.compile("slot--locked"), timeout=LIVE_TIMEOUT)
    expect(slot(page, first["id"])).to_contain_text("Locked")
    expect(page.locator('[data-count="locked"]')).to_have_text("1")

    added = site.api(
        "POST",
        f"/api/events/{event['id']}/slots",
        json=atc_slots(["EGLL_GND"], blocks=1)[0],
        headers=site.headers,
    )
    assert added.status_code == 201
    expect(page.locator(".atc-grid tbody th").first).to_contain_text(
        "EGLL_GND", timeout=LIVE_TIMEOUT
    )  # GND sorts above TWR
    expect(page.locator('[data-count="free"]')).to_have_text("2")
    assert not_reloaded(page)


def test_polling_fallback_keeps_the_roster_live_without_websockets(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=pilot_slots(2))
    page = new_page()
    page.add_init_script("delete window.WebSocket")
    open_event(page, site, event["id"], live=False)
    expect(page.locator("#live")).to_have_attribute("data-state", "polling")
    expect(page.locator("#live")).to_contain_text("polling")
    site.book(event["slots"][0]["id"], "EZY12")
    expect(slot(page, event["slots"][0]["id"])).to_contain_text("EZY12", timeout=LIVE_TIMEOUT)
    assert not_reloaded(page)


def test_modal_is_keyboard_accessible_and_validates_next_to_fields(
    site: Site, new_page: Any
) -> None:
    event = site.event(slots=atc_slots(["EGLL_GND"], blocks=1))
    target = event["slots"][0]
    page = new_page()
    open_event(page, site, event["id"])
    claim = slot(page, target["id"]).get_by_role("link", name=re.compile("^Claim"))
    claim.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile("EGLL_GND"))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Your name")).to_be_focused()

    for _ in range(12):  # Tab never leaves the modal
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog#book') !== null")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.closest('dialog#book') !== null")

    dialog.get_by_label("Callsign").fill("x!")
    dialog.get_by_role("button", name="Claim slot").click()
    expect(page.locator("#err-pilot_name")).to_have_text("Enter your name.")
    expect(page.locator("#err-pilot_callsign")).to_contain_text("3 to 10 letters and digits")
    expect(dialog.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_label("Your name")).to_be_focused()

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(claim).to_be_focused()


def test_times_switch_between_zulu_and_local(site: Site, new_page: Any) -> None:
    event = site.event(slots=atc_slots(["EGLL_TWR"], blocks=1))
    page = new_page(timezone_id="America/New_York")
    open_event(page, site, event["id"], live=False)
    header = page.locator("thead time").first
    expect(header).to_have_text("1600z")
    page.get_by_role("button", name="Local").click()
    expect(header).to_have_text(re.compile(r"^1[01]:00$"))  # EST or EDT
    page.reload()
    expect(page.locator("thead time").first).to_have_text(re.compile(r"^1[01]:00$"))
    page.get_by_role("button", name="Zulu").click()
    expect(page.locator("thead time").first).to_have_text("1600z")


def test_booking_works_without_javascript(site: Site, new_page: Any) -> None:
    event = site.event(slots=pilot_slots(2))
    target = event["slots"][0]
    page = new_page(java_script_enabled=False)
    page.goto(f"{site.url}/events/{event['id']}")
    slot(page, target["id"]).get_by_role("link", name=re.compile("^Claim")).click()
    form = page.locator("dialog#book")
    expect(form).to_be_visible()
    form.get_by_label("Your name").fill("No Script")
    form.get_by_label("Callsign").fill("NOJS1")
    form.get_by_role("button", name="Claim slot").click()

    expect(page.get_by_role("heading", name="You're on the roster")).to_be_visible()
    expect(page.locator(".success-panel")).to_contain_text("NOJS1")
    manage = page.locator(".success-panel a[data-role=manage-link]")
    assert "/manage?token=" in (manage.get_attribute("href") or "")
    expect(slot(page, target["id"])).to_contain_text("NOJS1")
    roster = site.api("GET", f"/api/events/{event['id']}").json()["slots"]
    assert roster[0]["booking"]["pilot_callsign"] == "NOJS1"


def test_organizer_creates_and_publishes_an_event_that_visitors_see(
    site: Site, new_page: Any
) -> None:
    page = new_page()
    sign_in(page, site)

    page.get_by_role("link", name="New event").click()
    start = event_start() + timedelta(days=5)
    title = f"Gatwick Friday Lights {start:%d%H%M%S}"
    page.get_by_label("Title").fill(title)
    page.get_by_label("Airport (ICAO)").fill("egkk")
    expect(page.locator("[data-role=airport-name]")).to_contain_text("Gatwick")
    expect(page.get_by_label("Airport timezone")).to_have_value("Europe/London")
    page.get_by_label("Starts (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Ends (UTC)").fill((start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Description").fill("Friday evening at **Gatwick**.")
    page.get_by_role("button", name="Create event").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)

    bulk = page.locator("form[action$='/slots/bulk']")
    bulk.get_by_label("Positions or routes, one per line").fill("EGKK_DEL\nEGKK_TWR\nEGKK_APP")
    bulk.get_by_label("Block length / interval (minutes)").fill("120")
    bulk.get_by_role("button", name="Add slots").click()
    expect(page.locator(".flash--success")).to_contain_text("Added 6 slots")
    single = page.locator("form[action$='/slots']")
    single.get_by_label("Position or route").fill("EGKK-LFPG")
    single.get_by_label("Type").select_option("PILOT")
    single.get_by_role("button", name="Add slot").click()
    expect(page.locator("#slot-list tbody tr")).to_have_count(7)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".flash--success")).to_contain_text("published")

    visitor = new_page()
    visitor.goto(f"{site.url}/?airport=EGKK")
    card = visitor.locator(".event-card", has_text=title)
    expect(card).to_contain_text("London Gatwick")
    card.get_by_role("link").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text(title)
    expect(visitor.locator(".atc-grid tbody th")).to_have_count(3)
    expect(visitor.locator(".atc-grid tbody th").first).to_contain_text("EGKK_DEL")
    expect(visitor.locator('[data-count="free"]')).to_have_text("7")


def test_screenshots_of_the_event_page(
    site: Site, new_page: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    event = site.event(
        slots=atc_slots(["EGLL_DEL", "EGLL_GND", "EGLL_TWR", "EGLL_N_APP", "EGLL_S_APP", "LON_CTR"])
        + pilot_slots(12),
        description=(
            "Join London control for a busy evening at **Heathrow**.\n\n"
            "- ATC: DEL, GND, TWR, both approach sectors and London Control in two-hour blocks\n"
            "- Pilots: departure slots every 4 minutes; please be ready at your CTOT"
        ),
    )
    slots = event["slots"]
    for index, callsign, name in (
        (0, "JDOE", "Jane Doe"), (4, "AMEHTA", "Arjun Mehta"), (9, "LBERG", "Lena Berg"),
        (16, "MROSSI", "Marco Rossi"), (19, "BAW117", "Lena Berg"), (21, "DLH4AB", "Max Muster"),
    ):  # fmt: skip
        site.book(slots[index]["id"], callsign, name)
    for index in (2, 26):
        locked = site.api(
            "PATCH", f"/api/slots/{slots[index]['id']}", json={"is_locked": True},
            headers=site.headers,
        )  # fmt: skip
        assert locked.status_code == 200

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "event-desktop.png": ({"width": 1280, "height": 900}, "light"),
        "event-phone.png": ({"width": 390, "height": 844}, "light"),
        "event-desktop-dark.png": ({"width": 1280, "height": 900}, "dark"),
    }
    for name, (viewport, scheme) in shots.items():
        page = new_page(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
        open_event(page, site, event["id"])
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    page = new_page(viewport={"width": 1280, "height": 900})
    open_event(page, site, event["id"])
    claim_in_modal(page, slots[3]["id"], "Jane Doe", "BAW123")
    page.screenshot(path=str(SCREENSHOTS / "booking-modal.png"))
    page.get_by_role("button", name="Claim slot").click()
    expect(page.locator("[data-role=success-view]")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "booking-done.png"))
    for title, icao in (("Schiphol Sunset Arrivals", "EHAM"), ("Frankfurt Rush Hour", "EDDF")):
        site.event(slots=pilot_slots(6), title=title, airport_icao=icao)
    page.goto(f"{site.url}/")
    page.screenshot(path=str(SCREENSHOTS / "home.png"))
    sign_in(page, site)
    page.goto(f"{site.url}/organizer/events/{event['id']}")
    page.screenshot(path=str(SCREENSHOTS / "organizer-slots.png"), full_page=True)
    page.goto(f"{site.url}/organizer")
    page.screenshot(path=str(SCREENSHOTS / "organizer-dashboard.png"))

    extra = ["booking-modal.png", "booking-done.png", "home.png", "organizer-slots.png"]
    for name in [*shots, *extra]:
        assert (SCREENSHOTS / name).stat().st_size > 10_000
    if os.environ.get("SKYSLOTS_TEST_UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for path in SCREENSHOTS.glob("*.png"):
            shutil.copy(path, DOCS_SCREENSHOTS / path.name)
    with capsys.disabled():
        print(f"\nscreenshots written to {SCREENSHOTS}")
