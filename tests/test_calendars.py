"""Calendars: the event's (stored per roster version, ETag) and a booker's own, parsed with two
independent parsers (icalendar, ics) plus recurring-ical-events for the DST case."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import ics
import pytest
import recurring_ical_events
from fastapi import FastAPI
from icalendar import Calendar

from skyslots.app import create_app
from skyslots.calendars.text import markdown_text
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.storage.cleanup import clean_storage
from skyslots.storage.keys import event_calendar_key, event_calendar_prefix
from tests.conftest import empty_tables, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots
from tests.s3_server import S3Server
from tests.servers import free_port
from tests.smtp_sink import Sink

PUBLIC = "https://skyslots.example.org"
DESCRIPTION = (
    "**Busy** evening at [Heathrow](https://example.org/egll) <b>&</b> more.\n\n- one\n- two"
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(database_url, tmp_path, smtp_url=sink[1], public_url=PUBLIC)


def blocks(*times: tuple[str, str], name: str = "EGLL_TWR") -> list[dict[str, Any]]:
    return [{"position_name": name, "start_time": s, "end_time": e} for s, e in times]


async def setup_event(
    client: httpx.AsyncClient, db: Database, **overrides: Any
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, description=DESCRIPTION, **overrides)
    start = event["start_datetime"]
    mid = datetime.fromisoformat(start.replace("Z", "+00:00")).replace(hour=18).isoformat()
    end = event["end_datetime"]
    slots = await make_slots(
        client,
        organizer,
        event,
        [
            *blocks((start, mid), (mid, end)),
            {"position_name": "EGLL_APP"},
            {"position_name": "EGLL-KJFK 1", "position_type": "PILOT"},
        ],
    )
    return organizer, event, slots


async def book(client: httpx.AsyncClient, slot: dict[str, Any], callsign: str, **extra: Any) -> Any:
    answer = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body(callsign, **extra)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def calendar_of(client: httpx.AsyncClient, event_id: int, **headers: str) -> httpx.Response:
    return await client.get(
        f"/api/events/{event_id}/calendar.ics", params={"inline": "1"}, headers=headers
    )


def vevents(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


async def test_the_event_calendar_has_the_event_and_its_staffed_atc_blocks(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db, title="Heathrow <Rush>")
    await book(client, slots[0], "EGLLTWR")  # the first block, by its controller
    await book(client, slots[2], "EGLLAPP")  # an ATC slot without a block: the whole event
    await book(client, slots[3], "BAW1")  # a pilot: not in the event's calendar
    answer = await calendar_of(client, event["id"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    body = answer.content

    main, *atc = vevents(body)
    assert str(main["SUMMARY"]) == "Heathrow <Rush>"
    assert str(main["UID"]) == f"event-{event['id']}@skyslots.example.org"
    assert str(main["URL"]) == f"{PUBLIC}/events/{event['id']}"
    assert str(main["LOCATION"]).startswith("EGLL")
    assert str(main["STATUS"]) == "CONFIRMED"
    description = str(main["DESCRIPTION"])
    # Raw HTML is not Markdown here: the page shows it as text, and so does the calendar.
    assert description.startswith("Busy evening at Heathrow (https://example.org/egll) <b>&</b>")
    assert "- one\n- two" in description and "**" not in description and "&amp;" not in description
    assert main.decoded("DTSTART") == datetime.fromisoformat(event["start_datetime"])
    assert b"DTSTART:" + event["start_datetime"][:19].replace("-", "").replace(":", "").encode()
    assert b"Z\r\n" in body.split(b"DTSTART:")[1][:20]  # UTC, not a local time
    assert [str(e["SUMMARY"]) for e in atc] == ["EGLL_TWR: EGLLTWR", "EGLL_APP: EGLLAPP"]
    assert atc[0].decoded("DTSTART") == datetime.fromisoformat(slots[0]["start_time"])
    assert atc[1].decoded("DTEND") == datetime.fromisoformat(event["end_datetime"])
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert int(main["SEQUENCE"]) == detail["version"] == int(atc[0]["SEQUENCE"])

    parsed = ics.Calendar(body.decode())  # a second, independent parser
    by_name = {e.name: e for e in parsed.events}
    assert set(by_name) == {"Heathrow <Rush>", "EGLL_TWR: EGLLTWR", "EGLL_APP: EGLLAPP"}
    assert by_name["EGLL_TWR: EGLLTWR"].begin.datetime == datetime.fromisoformat(
        slots[0]["start_time"]
    )
    assert by_name["Heathrow <Rush>"].url == f"{PUBLIC}/events/{event['id']}"
    assert (await calendar_of(client, event["id"])).content == body  # stable: the stored file


async def test_times_across_the_october_clock_change_come_out_in_utc(
    client: httpx.AsyncClient, db: Database
) -> None:
    """Europe/London leaves BST at 01:00Z on 31 Oct 2027: local 01:30 happens twice."""
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(
        client,
        organizer,
        start_datetime="2027-10-30T22:00:00+01:00",
        end_datetime="2027-10-31T04:00:00+00:00",
    )
    assert event["timezone"] == "Europe/London"
    first, second = await make_slots(
        client,
        organizer,
        event,
        blocks(
            ("2027-10-31T01:30:00+01:00", "2027-10-31T01:30:00+00:00"),  # 00:30Z-01:30Z
            ("2027-10-31T01:30:00+00:00", "2027-10-31T02:30:00+00:00"),
        ),
    )
    await book(client, first, "EGLLTWR")
    await book(client, second, "EGLLNTWR")
    body = (await calendar_of(client, event["id"])).content
    text = body.decode()
    for line in (
        "DTSTART:20271030T210000Z",
        "DTEND:20271031T040000Z",
        "DTSTART:20271031T003000Z",
        "DTEND:20271031T013000Z",
        "DTEND:20271031T023000Z",
    ):
        assert line in text
    occurrences = recurring_ical_events.of(Calendar.from_ical(body)).between(
        date(2027, 10, 30), date(2027, 11, 1)
    )
    london = ZoneInfo("Europe/London")
    spans = sorted(
        (o.decoded("DTSTART").astimezone(london), o.decoded("DTEND").astimezone(london))
        for o in occurrences
        if str(o["SUMMARY"]).startswith("EGLL_")
    )
    assert [(s.strftime("%H:%M %Z"), e.strftime("%H:%M %Z")) for s, e in spans] == [
        ("01:30 BST", "01:30 GMT"),
        ("01:30 GMT", "02:30 GMT"),
    ]
    assert [(e.astimezone(UTC) - s.astimezone(UTC)).total_seconds() for s, e in spans] == [
        3600.0,
        3600.0,
    ]
    parsed = sorted(ics.Calendar(text).events, key=lambda e: e.begin)
    assert [e.begin.to("UTC").strftime("%d %H:%M") for e in parsed] == [
        "30 21:00",
        "31 00:30",
        "31 01:30",
    ]


async def test_etag_304_and_a_new_file_after_each_roster_change(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db)
    first = await calendar_of(client, event["id"])
    etag = first.headers["etag"]
    again = await calendar_of(client, event["id"], **{"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag and not again.content
    assert (
        await calendar_of(client, event["id"], **{"If-None-Match": '"other"'})
    ).status_code == 200

    await book(client, slots[1], "EGLLTWR")
    changed = await calendar_of(client, event["id"], **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "EGLL_TWR: EGLLTWR" in [str(e["SUMMARY"]) for e in vevents(changed.content)]
    assert int(vevents(changed.content)[0]["SEQUENCE"]) > int(vevents(first.content)[0]["SEQUENCE"])

    storage = app.state.storage
    stored = [o.key for o in await storage.list(event_calendar_prefix(event["id"]))]
    version = (await client.get(f"/api/events/{event['id']}")).json()["version"]
    assert event_calendar_key(event["id"], version) in stored
    assert await storage.get(event_calendar_key(event["id"], version)) == changed.content
    await clean_storage(storage, grace_seconds=0)
    assert [o.key for o in await storage.list(event_calendar_prefix(event["id"]))] == [
        event_calendar_key(event["id"], version)
    ]


async def test_without_inline_the_calendar_is_a_redirect_to_the_stored_file(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, _ = await setup_event(client, db)
    answer = await client.get(f"/api/events/{event['id']}/calendar.ics")
    assert answer.status_code == 307
    assert answer.headers["etag"]
    location = answer.headers["location"]
    assert location.startswith(f"{PUBLIC}/files/events/{event['id']}/calendar/v")
    fetched = await client.get(location)  # the app serves its folder's files
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    assert 'filename="event-' in fetched.headers["content-disposition"]
    assert vevents(fetched.content)[0]["SUMMARY"] == "Heathrow Evening Rush"


async def test_a_change_warms_the_stored_calendar_without_a_request(
    app: FastAPI, client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db)
    await book(client, slots[0], "EGLLTWR")
    version = (await client.get(f"/api/events/{event['id']}")).json()["version"]
    key = event_calendar_key(event["id"], version)
    for _ in range(100):  # the debounced job runs within about 2 s
        if await app.state.storage.exists(key):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the calendar was not stored after the change")
    assert "EGLL_TWR: EGLLTWR" in (await app.state.storage.get(key)).decode()


async def test_drafts_and_missing_events_have_no_calendar(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    draft = await make_event(client, organizer, status="draft")
    for headers in ({}, organizer.headers):  # not even for its organizer: it is not public
        answer = await client.get(f"/api/events/{draft['id']}/calendar.ics", headers=headers)
        assert answer.status_code == 404
        assert answer.json()["code"] == "event_not_found"
    assert (await client.get("/api/events/999999/calendar.ics")).status_code == 404
    assert (await client.get("/api/events/0/calendar.ics")).status_code == 422


async def test_a_cancelled_event_shows_cancelled_in_both_calendars(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer, event, slots = await setup_event(client, db)
    booked = await book(client, slots[0], "EGLLTWR")
    before = await calendar_of(client, event["id"])
    cancelled = await client.patch(
        f"/api/events/{event['id']}", json={"status": "cancelled"}, headers=organizer.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await calendar_of(client, event["id"], **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    entries = vevents(after.content)
    assert [str(e["STATUS"]) for e in entries] == ["CANCELLED", "CANCELLED"]
    assert int(entries[0]["SEQUENCE"]) > int(vevents(before.content)[0]["SEQUENCE"])
    assert [e.status for e in ics.Calendar(after.text).events] == ["CANCELLED", "CANCELLED"]
    mine = await client.get(
        f"/api/bookings/{booked['id']}/calendar.ics", params={"token": booked["manage_token"]}
    )
    assert [str(e["STATUS"]) for e in vevents(mine.content)] == ["CANCELLED"]


async def test_the_booking_calendar_with_its_alarm_and_token_checks(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db, reminder_offsets_minutes=[90, 30])
    mine = await book(client, slots[1], "EGLLTWR")
    other = await book(client, slots[3], "BAW1")
    path = f"/api/bookings/{mine['id']}/calendar.ics"
    answer = await client.get(path, params={"token": mine["manage_token"]})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/calendar")
    assert answer.headers["cache-control"] == "private, no-store"
    [entry] = vevents(answer.content)
    assert str(entry["UID"]) == f"booking-{mine['id']}@skyslots.example.org"
    assert entry.decoded("DTSTART") == datetime.fromisoformat(slots[1]["start_time"])
    assert entry.decoded("DTEND") == datetime.fromisoformat(slots[1]["end_time"])
    assert str(entry["SUMMARY"]).startswith("EGLL_TWR 1800z-")
    description = str(entry["DESCRIPTION"])
    assert f"{PUBLIC}/events/{event['id']}" in description
    assert f"{PUBLIC}/bookings/{mine['id']}/manage?token=" in description
    [alarm] = entry.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER").total_seconds() == -90 * 60
    [parsed] = ics.Calendar(answer.text).events
    [parsed_alarm] = parsed.alarms
    assert parsed_alarm.trigger.total_seconds() == -90 * 60

    link = next(w for w in description.split() if "/manage?token=" in w)
    mailed_token = link.split("token=", 1)[1]
    assert (await client.get(path, params={"token": mailed_token})).status_code == 200

    wrong = await client.get(path, params={"token": other["manage_token"]})
    assert (wrong.status_code, wrong.json()["code"]) == (403, "bad_token")
    assert (await client.get(path, params={"token": "x" * 40})).status_code == 403
    missing = await client.get("/api/bookings/999999/calendar.ics", params={"token": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, "booking_not_found")
    assert (await client.get(path)).status_code == 422

    released = await client.post(
        f"/api/bookings/{mine['id']}/release", headers={"X-Manage-Token": mine["manage_token"]}
    )
    assert released.status_code == 200
    gone = await client.get(path, params={"token": mine["manage_token"]})
    [entry] = vevents(gone.content)
    assert str(entry["STATUS"]) == "CANCELLED" and not entry.walk("VALARM")


async def test_the_confirmation_mail_carries_the_same_calendar(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    _, _, slots = await setup_event(client, db)
    mine = await book(client, slots[0], "EGLLTWR", email="ctl@example.com")
    [mail] = await asyncio.to_thread(sink[0].wait_for, 1)
    [attachment] = list(mail.iter_attachments())
    mailed = attachment.get_content()
    mailed = mailed.encode() if isinstance(mailed, str) else mailed
    served = await client.get(
        f"/api/bookings/{mine['id']}/calendar.ics", params={"token": mine["manage_token"]}
    )
    strip = lambda body: [x for x in body.splitlines() if not x.startswith(b"DTSTAMP")]  # noqa: E731
    assert strip(mailed.replace(b"\r\n", b"\n")) == strip(served.content.replace(b"\r\n", b"\n"))
    [entry] = vevents(mailed)
    assert entry.walk("VALARM")[0].decoded("TRIGGER").total_seconds() == -1440 * 60


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_role: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        role, href = values.get("data-role"), values.get("href") or ""
        if tag == "a" and role and (href != "#" or role not in self.by_role):
            self.by_role[role] = href  # the script's placeholders ("#") count only when alone


def links_of(html: str) -> dict[str, str]:
    """The links by `data-role`, their href unescaped as a browser reads it."""
    parser = Links()
    parser.feed(html)
    return parser.by_role


async def test_calendar_links_on_the_event_booking_and_manage_pages(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer, event, slots = await setup_event(client, db)
    page = await client.get(f"/events/{event['id']}")
    links = links_of(page.text)
    assert links["add-to-calendar"] == f"/api/events/{event['id']}/calendar.ics"
    assert links["subscribe-calendar"] == (
        f"webcal://skyslots.example.org/api/events/{event['id']}/calendar.ics?inline=1"
    )
    assert "booking-calendar" in links  # the booking dialog's, filled in by the script

    mine = await book(client, slots[0], "EGLLTWR")
    token = mine["manage_token"]
    manage = await client.get(f"/bookings/{mine['id']}/manage", params={"token": token})
    links = links_of(manage.text)
    path = f"/api/bookings/{mine['id']}/calendar.ics?token={token}"
    assert links["booking-calendar"] == path
    assert links["booking-webcal"] == f"webcal://skyslots.example.org{path}"
    assert (await client.get(links["booking-calendar"])).status_code == 200

    draft = await make_event(client, organizer, status="draft")
    draft_page = await client.get(f"/events/{draft['id']}", headers=organizer.headers)
    assert "add-to-calendar" not in links_of(draft_page.text)


async def test_the_booking_page_after_a_form_post_links_the_calendar(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db)
    page = await client.get(f"/events/{event['id']}")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = await client.post(
        f"/events/{event['id']}/book/{slots[0]['id']}",
        data={"csrf_token": csrf, "pilot_name": "Jo", "pilot_callsign": "EGLLTWR"},
    )
    links = links_of(answer.text)
    booking_id = links["manage-link"].split("/")[2]
    assert links["booking-calendar"].startswith(f"/api/bookings/{booking_id}/calendar.ics?token=")
    assert (await client.get(links["booking-calendar"])).status_code == 200
    assert links["booking-webcal"].startswith("webcal://skyslots.example.org/api/bookings/")


def test_markdown_becomes_plain_text() -> None:
    assert markdown_text(DESCRIPTION) == (
        "Busy evening at Heathrow (https://example.org/egll) <b>&</b> more.\n\n- one\n- two"
    )
    assert markdown_text("") == ""
    assert markdown_text("<https://x.org>") == "https://x.org"


@pytest.fixture
async def s3_app(sqlite_url: str, tmp_path: Path, s3_server: S3Server) -> AsyncIterator[FastAPI]:
    settings = make_settings(sqlite_url, tmp_path, public_url=PUBLIC, **s3_server.settings())
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        yield application


async def test_on_s3_the_calendar_is_stored_and_redirects_to_a_presigned_url(
    s3_app: FastAPI, s3_server: S3Server
) -> None:
    transport = httpx.ASGITransport(app=s3_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        _, event, slots = await setup_event(client, s3_app.state.database)
        first = await client.get(f"/api/events/{event['id']}/calendar.ics")
        assert first.status_code == 307
        assert first.headers["location"].startswith(s3_server.endpoint_url)
        async with httpx.AsyncClient() as plain:
            fetched = await plain.get(first.headers["location"])
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith("text/calendar")
        inline = await calendar_of(client, event["id"])
        assert inline.content == fetched.content
        etag = inline.headers["etag"]
        assert (
            await calendar_of(client, event["id"], **{"If-None-Match": etag})
        ).status_code == 304
        await book(client, slots[0], "EGLLTWR")
        changed = await calendar_of(client, event["id"], **{"If-None-Match": etag})
        assert changed.status_code == 200
        assert "EGLL_TWR: EGLLTWR" in changed.text
        stored = await s3_app.state.storage.list(event_calendar_prefix(event["id"]))
        assert len(stored) == 2  # one per roster version asked for (the cleanup trims later)


async def test_with_storage_down_the_calendar_is_made_afresh(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        public_url=PUBLIC,
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key="k",
        s3_secret_key="s",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            _, event, slots = await setup_event(client, application.state.database)
            await book(client, slots[0], "EGLLTWR")  # booking goes on
            answer = await client.get(f"/api/events/{event['id']}/calendar.ics")
            assert answer.status_code == 200
            assert "EGLL_TWR: EGLLTWR" in answer.text
            assert answer.headers["etag"]
