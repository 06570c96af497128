"""My bookings: GET /api/me/bookings and the /me/bookings page (list, release, the feed block),
the signed-in booking form, the data export's feed flag; SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import (
    PASSWORD,
    Account,
    booking_body,
    event_start,
    make_account,
    make_event,
    make_slots,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def organizer(db: Database, client: httpx.AsyncClient) -> Account:
    return await make_account(db, client, email="org@example.com")


async def browser_session(app: FastAPI, account: Account) -> tuple[httpx.AsyncClient, str]:
    """A cookie session signed in through the login form, and its CSRF token."""
    transport = httpx.ASGITransport(app=app)
    web = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    login = await web.get("/login")
    token = CSRF.search(login.text).group(1)  # type: ignore[union-attr]
    signed = await web.post(
        "/login",
        data={"email": account.email, "password": PASSWORD, "csrf_token": token, "next": "/"},
    )
    assert signed.status_code == 303, signed.text
    page = await web.get("/me/bookings")
    assert page.status_code == 200
    return web, CSRF.search(page.text).group(1)  # type: ignore[union-attr]


async def setup(
    client: httpx.AsyncClient, organizer: Account
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    start = event_start()
    event = await make_event(client, organizer, hold_seconds=0)
    blocks = [
        {
            "position_name": "EGLL_TWR",
            "start_time": (start + timedelta(hours=h)).isoformat(),
            "end_time": (start + timedelta(hours=h + 2)).isoformat(),
        }
        for h in (2, 0)
    ]
    slots = await make_slots(client, organizer, event, blocks)
    later = await make_event(
        client,
        organizer,
        title="Later Event",
        start_datetime=(start + timedelta(days=3)).isoformat(),
        end_datetime=(start + timedelta(days=3, hours=4)).isoformat(),
        hold_seconds=0,
        max_slots_per_person=3,
    )
    [pilot] = await make_slots(
        client, organizer, later, [{"position_name": "BAW1 EGLL-KJFK", "position_type": "PILOT"}]
    )
    return event, slots, pilot


async def test_my_bookings_api_lists_the_signed_in_bookers_own(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [late, early], pilot = await setup(client, organizer)
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    assert (await client.get("/api/me/bookings")).status_code == 401
    for slot, callsign in ((pilot, "BAW1"), (late, "EGLLTWR")):
        booked = await client.post(
            f"/api/slots/{slot['id']}/book", json={"pilot_callsign": callsign}, headers=me.headers
        )
        assert booked.status_code == 201, booked.text
    # Someone else's booking (anonymous) is not mine, even with my name.
    other = await client.post(f"/api/slots/{early['id']}/book", json=booking_body("OTHER1", "Jane"))
    assert other.status_code == 201
    listed = (await client.get("/api/me/bookings", headers=me.headers)).json()
    assert [b["label"] for b in listed] == [
        f"EGLL_TWR {late['start_time'][11:13]}{late['start_time'][14:16]}z-"
        f"{late['end_time'][11:13]}{late['end_time'][14:16]}z",
        "BAW1 EGLL-KJFK",
    ]  # upcoming, soonest first
    first = listed[0]
    assert first["event_title"] == event["title"] and first["status"] == "claimed"
    assert first["pilot_name"] == "Jane" and first["upcoming"] is True
    assert first["starts_at"].startswith(late["start_time"][:16])
    released = await client.post(f"/api/bookings/{first['id']}/release", headers=me.headers)
    assert released.status_code == 200
    after = (await client.get("/api/me/bookings", headers=me.headers)).json()
    assert [(b["label"][:8], b["status"], b["upcoming"]) for b in after] == [
        ("BAW1 EGL", "claimed", True),
        ("EGLL_TWR", "released", False),
    ]


async def test_my_bookings_page_books_as_the_signed_in_person_and_releases(
    app: FastAPI, db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event, [late, early], _ = await setup(client, organizer)
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    web, csrf = await browser_session(app, me)
    page = await web.get(f"/events/{event['id']}?claim={late['id']}")
    assert 'data-role="booking-as"' in page.text and "Booking as <b>Jane</b>" in page.text
    assert (
        'name="pilot_name"' not in page.text.split('data-role="book-form"')[1].split("</form>")[0]
    )
    assert 'href="/me/bookings"' in page.text  # the header's link
    booked = await web.post(
        f"/events/{event['id']}/book/{late['id']}",
        data={"csrf_token": csrf, "pilot_callsign": "EGLLTWR"},
    )
    assert booked.status_code == 200, booked.text
    assert "on the roster" in booked.text and 'data-role="my-bookings-link"' in booked.text
    # The page's JavaScript books over the JSON API with the cookie and X-CSRF-Token.
    by_js = await web.post(
        f"/api/slots/{early['id']}/book",
        json={"pilot_callsign": "EGLLTWR2"},
        headers={"X-CSRF-Token": csrf},
    )
    assert by_js.status_code == 201, by_js.text
    assert by_js.json()["pilot_name"] == "Jane"
    without_csrf = await web.post(
        f"/api/slots/{early['id']}/book", json={"pilot_callsign": "EGLLTWR3"}
    )
    assert without_csrf.status_code == 422  # the cookie does not count: anonymous, no name
    async with db.engine.connect() as connection:
        row = (
            await connection.execute(
                sa.text("SELECT user_id, pilot_name FROM bookings WHERE slot_id = :s"),
                {"s": late["id"]},
            )
        ).one()
    assert tuple(row) == (me.id, "Jane")
    mine = await web.get("/me/bookings")
    assert "EGLLTWR" in mine.text and event["title"] in mine.text
    booking_id, _ = re.findall(r'data-booking-id="(\d+)"', mine.text)
    assert f'action="/me/bookings/{booking_id}/release"' in mine.text
    # Another signed-in member cannot release it from their page.
    stranger = await make_account(db, client, email="x@example.com", role=Role.MEMBER)
    other_web, other_csrf = await browser_session(app, stranger)
    refused = await other_web.post(
        f"/me/bookings/{booking_id}/release", data={"csrf_token": other_csrf}
    )
    assert refused.status_code == 403
    released = await web.post(f"/me/bookings/{booking_id}/release", data={"csrf_token": csrf})
    assert released.status_code == 303 and released.headers["location"] == "/me/bookings"
    after = await web.get("/me/bookings")
    assert (
        "Released" in after.text and f'action="/me/bookings/{booking_id}/release"' not in after.text
    )
    assert (await httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t").get(
        "/me/bookings"
    )).status_code == 303  # fmt: skip


async def test_feed_block_on_the_page_and_in_the_data_export(
    app: FastAPI, db: Database, client: httpx.AsyncClient
) -> None:
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    web, csrf = await browser_session(app, me)
    page = await web.get("/me/bookings")
    assert 'data-role="feed-on"' in page.text and 'data-role="feed-url"' not in page.text
    assert (await client.get("/api/me/data", headers=me.headers)).json()["user"][
        "calendar_feed"
    ] is False
    on = await web.post("/me/calendar", data={"csrf_token": csrf, "action": "on"})
    assert on.status_code == 303
    page = await web.get("/me/bookings")
    [url] = re.findall(r'data-role="feed-url" value="([^"]+)"', page.text) or re.findall(
        r'value="([^"]+)" data-role="feed-url"', page.text
    )
    assert "/api/me/calendar/" in url and url.endswith(".ics")
    assert 'data-role="feed-subscribe"' in page.text and "webcal://" in page.text
    path = url.split("testserver", 1)[-1] if "testserver" in url else url.split("://", 1)[1]
    path = path[path.index("/api/") :]
    assert (await client.get(path)).status_code == 200
    assert (await client.get("/api/me/data", headers=me.headers)).json()["user"][
        "calendar_feed"
    ] is True
    await web.post("/me/calendar", data={"csrf_token": csrf, "action": "reset"})
    assert (await client.get(path)).status_code == 404  # the old address is revoked
    await web.post("/me/calendar", data={"csrf_token": csrf, "action": "off"})
    page = await web.get("/me/bookings")
    assert 'data-role="feed-on"' in page.text
