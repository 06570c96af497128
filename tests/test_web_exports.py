"""The dashboard's Exports tab: the form without JavaScript (both engines: a reload shows the
state, then the link), and in Chromium (Export CSV, the progress followed live, the link)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from skyslots.config import Settings
from skyslots.db import Database
from tests import test_web_ui as ui
from tests.conftest import make_settings
from tests.exports_support import roster_event
from tests.helpers import make_account, make_event
from tests.test_web_ui import Site, expect, sign_in
from tests.test_web_views import csrf_of, page_csrf, web_login

site, browser, new_page = ui.site, ui.browser, ui.new_page


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, outbox_poll_seconds=0.3)


async def test_exports_tab_without_javascript(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    await make_account(db, client, email="rival@example.com")
    event = await roster_event(client, organizer)
    path = f"/organizer/events/{event['id']}/exports"
    assert (await web_login(client, organizer.email)).status_code == 303
    page = await client.get(path)
    assert page.status_code == 200
    assert "Export CSV" in page.text and "Export PDF" in page.text and "Export PNG" in page.text
    assert f'href="{path}" aria-current="page">Exports<' in page.text
    token = csrf_of(page.text)
    started = await client.post(path, data={"csrf_token": token, "format": "csv"})
    assert started.status_code == 303 and started.headers["location"] == path
    for _ in range(100):
        page = await client.get(path)
        if "Download CSV" in page.text:
            break
        await asyncio.sleep(0.1)
    assert "Download CSV" in page.text, page.text
    link = re.search(r'<a href="([^"]+)" download>Download CSV', page.text)
    assert link
    parts = urlsplit(link.group(1).replace("&amp;", "&"))
    file = await client.get(f"{parts.path}?{parts.query}")
    assert file.status_code == 200 and file.content.startswith(b"booking_id,")

    bad = await client.post(path, data={"csrf_token": token, "format": "xlsx"})
    assert bad.status_code == 303
    assert "Choose CSV, PDF or PNG." in (await client.get(path)).text
    assert (await client.post(path, data={"format": "csv"})).status_code == 403  # no CSRF
    await client.post("/logout", data={"csrf_token": token})
    assert (await web_login(client, "rival@example.com")).status_code == 303
    assert (await client.get(path)).status_code == 403
    rival_token = await page_csrf(client, "/organizer")
    stranger = await client.post(path, data={"csrf_token": rival_token, "format": "pdf"})
    assert stranger.status_code == 403
    other = await make_event(client, organizer)
    assert (await client.get(f"/organizer/events/{other['id']}/exports")).status_code == 403


@pytest.mark.browser
def test_export_csv_in_the_browser(site: Site, new_page: Any) -> None:
    event = site.event(slots=ui.atc_slots(["EGLL_TWR"], blocks=2) + ui.pilot_slots(3))
    page = new_page()
    sign_in(page, site)
    page.goto(f"{site.url}/organizer/events/{event['id']}")
    page.get_by_role("link", name="Exports", exact=True).click()
    expect(page).to_have_url(re.compile(r"/exports$"))
    page.get_by_role("button", name="Export CSV").click()
    row = page.locator("tr[data-export]").first
    expect(row.get_by_role("progressbar")).to_be_visible()
    link = row.get_by_role("link", name="Download CSV")
    expect(link).to_be_visible(timeout=20_000)
    expect(row.locator('[data-role="status"]')).to_have_text("done")
    href = link.get_attribute("href") or ""
    parts = urlsplit(href)
    answer = httpx.get(f"{site.url}{parts.path}?{parts.query}")
    assert answer.status_code == 200 and answer.text.startswith("booking_id,")
