"""The personal calendar feed: POST/DELETE /api/me/calendar and its secret address
/api/me/calendar/<token>.ics (one entry per claimed booking, stable UIDs, ETag, revocation, gone
with the account); SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from icalendar import Calendar

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import Account, booking_body, event_start, make_account, make_event, make_slots


@pytest.fixture
async def organizer(db: Database, client: httpx.AsyncClient) -> Account:
    return await make_account(db, client, email="org@example.com")


def feed_path(url: str) -> str:
    return url[url.index("/api/me/calendar/") :]


def entries(body: bytes) -> dict[str, dict[str, str]]:
    calendar = Calendar.from_ical(body)
    return {
        str(e["uid"]): {
            "summary": str(e["summary"]),
            "start": e.decoded("dtstart").isoformat(),
            "status": str(e["status"]),
        }
        for e in calendar.walk("VEVENT")
    }


async def test_feed_has_one_entry_per_claimed_booking(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    start = event_start()
    event = await make_event(client, organizer, hold_seconds=0, max_slots_per_person=3)
    blocks = [
        {
            "position_name": "EGLL_TWR",
            "start_time": (start + timedelta(hours=h)).isoformat(),
            "end_time": (start + timedelta(hours=h + 2)).isoformat(),
        }
        for h in (0, 2, 4)
    ]
    slots = await make_slots(client, organizer, event, blocks)
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    assert (await client.post("/api/me/calendar")).status_code == 401
    made = await client.post("/api/me/calendar", headers=me.headers)
    assert made.status_code == 200, made.text
    feed = made.json()
    assert feed["url"].startswith("http") and feed["webcal_url"].startswith("webcal://")
    path = feed_path(feed["url"])
    empty = await client.get(path)
    assert empty.status_code == 200 and empty.headers["content-type"].startswith("text/calendar")
    assert entries(empty.content) == {}
    ids = []
    for slot in slots[:2]:
        booked = await client.post(
            f"/api/slots/{slot['id']}/book", json={"pilot_callsign": "EGLLTWR"}, headers=me.headers
        )
        assert booked.status_code == 201, booked.text
        ids.append(booked.json()["id"])
    anon = await client.post(f"/api/slots/{slots[2]['id']}/book", json=booking_body("OTHER"))
    assert anon.status_code == 201  # not mine: not in my feed
    answer = await client.get(path)
    listed = entries(answer.content)
    assert set(listed) == {f"booking-{i}@127.0.0.1" for i in ids}
    first = listed[f"booking-{ids[0]}@127.0.0.1"]
    assert (
        first["summary"]
        == f"EGLL_TWR {start:%H%M}z-{start + timedelta(hours=2):%H%M}z · {event['title']}"
    )
    assert first["start"] == start.isoformat().replace("+00:00", "+00:00")
    assert first["status"] == "CONFIRMED"
    # The same bookings give the same bytes: ETag and 304.
    etag = answer.headers["etag"]
    assert answer.headers["cache-control"] == "no-cache"
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    await client.post(f"/api/bookings/{ids[0]}/release", headers=me.headers)
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert set(entries(changed.content)) == {f"booking-{ids[1]}@127.0.0.1"}


async def test_wrong_old_and_turned_off_addresses_are_404(
    db: Database, client: httpx.AsyncClient
) -> None:
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    other = await make_account(db, client, email="other@example.com", role=Role.MEMBER)
    first = feed_path((await client.post("/api/me/calendar", headers=me.headers)).json()["url"])
    assert (await client.get(first)).status_code == 200
    token = first.rsplit("/", 1)[1].removesuffix(".ics")
    user_id, signature = token.split("-", 1)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    for wrong in (
        f"{user_id}-{flipped}",
        f"{other.id}-{signature}",  # my signature on another account
        "1-short",
        "nonsense",
        f"999999-{signature}",
    ):
        answer = await client.get(f"/api/me/calendar/{wrong}.ics")
        assert answer.status_code == 404, wrong
        assert answer.json()["code"] == "feed_not_found"
    second = feed_path((await client.post("/api/me/calendar", headers=me.headers)).json()["url"])
    assert second != first
    assert (await client.get(first)).status_code == 404  # reset: the old address is revoked
    assert (await client.get(second)).status_code == 200
    assert (await client.delete("/api/me/calendar", headers=me.headers)).status_code == 204
    assert (await client.get(second)).status_code == 404
    third = feed_path((await client.post("/api/me/calendar", headers=me.headers)).json()["url"])
    assert third not in (first, second)  # turned on again: a new address, never an old one
    assert (await client.get(first)).status_code == 404


async def test_deleting_the_account_drops_the_feed(db: Database, client: httpx.AsyncClient) -> None:
    me = await make_account(db, client, email="jane@example.com", role=Role.MEMBER)
    path = feed_path((await client.post("/api/me/calendar", headers=me.headers)).json()["url"])
    exported = (await client.get("/api/me/data", headers=me.headers)).json()
    assert exported["user"]["calendar_feed"] is True
    assert path.rsplit("/", 1)[1] not in str(exported)  # the address itself is not stored
    assert (await client.get(path)).status_code == 200
    assert (await client.delete("/api/me", headers=me.headers)).status_code == 204
    assert (await client.get(path)).status_code == 404
