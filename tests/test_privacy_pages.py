"""The privacy pages: /privacy and its links, the manage page's download and delete (with its
confirmation step and CSRF), /account's download and delete (typed email, CSRF); user text
escaped. Both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.models import Booking, Role, User
from tests.conftest import make_settings
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots
from tests.privacy_support import assert_nowhere, make_person
from tests.test_web_views import csrf_of, page_csrf, web_login

NAME = "<b>Jane</b> & Co"
EMAIL = "jane.pages@privacy.example"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, retention_days=12)


async def booked(client: httpx.AsyncClient, db: Database) -> tuple[dict[str, Any], dict[str, Any]]:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, hold_seconds=0)
    [slot, _] = await make_slots(client, organizer, event, pilot_slots(2))
    body = booking_body("JNE1", name=NAME, email=EMAIL, notes="<script>alert(1)</script>")
    response = await client.post(f"/api/slots/{slot['id']}/book", json=body)
    assert response.status_code == 201, response.text
    return event, response.json()


async def booking_row(db: Database, booking_id: int) -> Booking:
    async def read(session: AsyncSession) -> Booking | None:
        return await session.get(Booking, booking_id)

    row = await db.read(read)
    assert row is not None
    return row


async def test_the_privacy_page_says_what_is_kept_and_is_linked_from_the_forms(
    client: httpx.AsyncClient, db: Database
) -> None:
    page = await client.get("/privacy")
    assert page.status_code == 200
    for words in ("keyed hash", "never the address", "12 days", "Delete my personal data",
                  "/account", "optional"):  # fmt: skip
        assert words in page.text, words
    assert "<script>" not in page.text.split("</head>")[1]  # no inline script
    assert 'href="/privacy"' in (await client.get("/")).text  # the footer
    event, booking = await booked(client, db)
    form = await client.get(f"/events/{event['id']}?claim={booking['slot_id'] + 1}")
    assert form.status_code == 200
    booking_form = form.text.split('data-role="book-form"')[1].split("</form>")[0]
    assert 'href="/privacy"' in booking_form  # the claim modal and the no-JavaScript form
    waiting = await client.get(f"/events/{event['id']}?wait={booking['slot_id']}")
    assert waiting.text.count('href="/privacy"') >= 3  # footer, booking and waitlist forms


async def test_the_manage_page_downloads_then_deletes_after_a_confirmation(
    client: httpx.AsyncClient, db: Database
) -> None:
    event, booking = await booked(client, db)
    token = booking["manage_token"]
    manage = f"/bookings/{booking['id']}/manage?token={quote(token)}"
    page = await client.get(manage)
    assert page.status_code == 200
    assert "&lt;b&gt;Jane&lt;/b&gt; &amp; Co" in page.text and NAME not in page.text
    assert "Download my data" in page.text and "Delete my personal data…" in page.text
    assert 'data-role="delete-form"' not in page.text  # the button asks first

    download = await client.get(f"/bookings/{booking['id']}/data?token={quote(token)}")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.json()["booking"]["email"] == EMAIL
    refused = await client.get(f"/bookings/{booking['id']}/data?token=wrong")
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]

    confirm = await client.get(manage + "&delete=1")
    assert 'data-role="delete-form"' in confirm.text and "gives the slot back" in confirm.text
    url = f"/bookings/{booking['id']}/personal-data"
    forged = await client.post(url, data={"token": token, "csrf_token": "guessed"})
    assert forged.status_code == 403
    assert (await booking_row(db, booking["id"])).email == EMAIL  # nothing changed
    wrong = await client.post(url, data={"token": "wrong", "csrf_token": csrf_of(confirm.text)})
    assert wrong.status_code == 403
    done = await client.post(url, data={"token": token, "csrf_token": csrf_of(confirm.text)})
    assert done.status_code == 200, done.text
    assert "Your personal data was deleted" in done.text
    assert "Delete my personal data…" not in done.text  # nothing left to delete
    row = await booking_row(db, booking["id"])
    anonymised = ("Deleted user", None, "", "released")
    assert (row.pilot_name, row.email, row.notes, row.status) == anonymised
    await assert_nowhere(db, EMAIL, "<b>Jane</b>", "alert(1)")
    state = (await client.get(f"/api/events/{event['id']}/state")).json()
    assert [s["status"] for s in state["slots"]] == ["free", "free"]


async def test_the_account_page_downloads_and_deletes_with_the_typed_email(
    client: httpx.AsyncClient, db: Database
) -> None:
    assert (await client.get("/account")).status_code == 303  # to the sign-in form
    person = await make_person(db, client, name="<i>Zed</i> Person")
    assert (await web_login(client, person.email)).status_code == 303
    home = await client.get("/")
    assert 'href="/account"' in home.text and "&lt;i&gt;Zed&lt;/i&gt; Person" in home.text
    page = await client.get("/account")
    assert page.status_code == 200
    assert person.email in page.text and "<i>Zed</i>" not in page.text
    assert 'href="/api/me/data"' in page.text
    export = await client.get("/api/me/data")  # the session cookie is enough for a download
    assert export.status_code == 200 and export.json()["user"]["email"] == person.email

    token = csrf_of(page.text)
    forged = await client.post("/account/delete", data={"confirm": person.email, "csrf_token": "x"})
    assert forged.status_code == 403
    typo = await client.post("/account/delete", data={"confirm": "nope@x.org", "csrf_token": token})
    assert typo.status_code == 422 and "Type your account" in typo.text
    deleted = await client.post(
        "/account/delete", data={"confirm": person.email.upper(), "csrf_token": token}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/"
    after = await client.get("/")
    assert "Your account and personal data were deleted." in after.text
    assert 'href="/account"' not in after.text  # signed out

    async def users(session: AsyncSession) -> list[str]:
        return list(await session.scalars(select(User.email)))

    assert person.email not in await db.read(users)
    await assert_nowhere(db, person.email, person.name)


async def test_an_organizer_with_events_is_told_why_the_account_stays(
    client: httpx.AsyncClient, db: Database
) -> None:
    person = await make_person(db, client, role=Role.ORGANIZER)
    await make_event(client, person.account, title="Heathrow <Night>")
    await web_login(client, person.email)
    token = await page_csrf(client, "/account")
    refused = await client.post(
        "/account/delete", data={"confirm": person.email, "csrf_token": token}
    )
    assert refused.status_code == 409
    assert "Heathrow &lt;Night&gt;" in refused.text and "hand them over" in refused.text

    async def users(session: AsyncSession) -> list[str]:
        return list(await session.scalars(select(User.email)))

    assert person.email in await db.read(users)
