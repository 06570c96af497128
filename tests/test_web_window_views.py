"""The event page's booking window over plain HTTP: what a page without JavaScript says."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from skyslots.db import Database
from skyslots.web.window import countdown_text
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots

SERVER_NOW = re.compile(r'data-server-now="([^"]+)"')


def zulu(moment: datetime) -> str:
    return f"{moment:%a %d %b %Y %H%M}z"


def state_sentence(html: str) -> str:
    """The text of the window's status line, tags stripped."""
    match = re.search(r'data-role="window-state"[^>]*>(.*?)</p>', html, re.S)
    assert match, "the page has no booking window"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def event_page(
    client: httpx.AsyncClient, organizer: Account, **window: object
) -> tuple[dict, list[dict], str]:
    event = await make_event(client, organizer, **window)
    slots = await make_slots(client, organizer, event, pilot_slots(2))
    page = await client.get(f"/events/{event['id']}")
    assert page.status_code == 200, page.text
    return event, slots, page.text


async def test_not_yet_open_says_when_and_disables_the_claim_buttons(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    opens_at = (datetime.now(UTC) + timedelta(days=1, hours=1)).replace(microsecond=0)
    event, slots, html = await event_page(client, organizer, booking_opens_at=opens_at.isoformat())

    assert state_sentence(html) == f"Booking is not open yet. It opens at {zulu(opens_at)}."
    assert 'data-role="window-state" role="status" aria-live="polite"' in html
    assert re.search(r'role="timer" aria-live="off"\s*>Booking opens in', html)
    assert re.search(r'data-role="countdown">1d 0[01]:\d\d:\d\d<', html)
    assert ">Booking not open yet</li>" in html
    server_now = datetime.fromisoformat(SERVER_NOW.search(html).group(1))  # type: ignore[union-attr]
    assert abs(server_now - datetime.now(UTC)) < timedelta(seconds=30)
    for slot in slots:
        assert re.search(rf'<button[^>]*disabled data-claim-pending="{slot["id"]}"', html)
    assert "?claim=" not in html  # no live Claim links before opening

    fragment = (await client.get(f"/events/{event['id']}/roster")).text
    assert 'data-claim-pending="' in fragment and "?claim=" not in fragment

    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token
    refused = await client.post(
        f"/events/{event['id']}/book/{slots[0]['id']}",
        data={"pilot_name": "Too Early", "pilot_callsign": "EARLY1", "csrf_token": token.group(1)},
    )
    assert refused.status_code == 409 and "opens at" in refused.text


async def test_closed_says_when_it_closed_and_offers_no_claims(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    closes_at = now - timedelta(hours=1)
    _, _, html = await event_page(
        client,
        organizer,
        booking_opens_at=(now - timedelta(hours=3)).isoformat(),
        booking_closes_at=closes_at.isoformat(),
    )
    assert state_sentence(html) == f"Booking closed at {zulu(closes_at)}."
    assert 'data-state="closed"' in html and ">Booking closed</li>" in html
    assert "data-claim" not in html.split('id="roster"', 1)[1]  # no Claim, live or disabled
    assert re.search(r'data-role="window-countdown"[^>]*hidden', html)


async def test_open_and_cancelled_events_say_so(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots, html = await event_page(client, organizer)
    end = datetime.fromisoformat(event["end_datetime"])
    assert state_sentence(html) == f"Booking is open until {zulu(end)}."
    assert f"?claim={slots[0]['id']}" in html and ">Booking open</li>" in html

    cancelled = await client.patch(
        f"/api/events/{event['id']}", json={"status": "cancelled"}, headers=organizer.headers
    )
    assert cancelled.status_code == 200
    html = (await client.get(f"/events/{event['id']}")).text
    assert state_sentence(html) == "Booking closed: this event was cancelled."
    assert "?claim=" not in html
    claim = await client.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body())
    assert claim.status_code == 409  # the page and the booking core agree


def test_countdown_format() -> None:
    assert countdown_text(2 * 86_400 + 3 * 3600 + 14 * 60 + 5) == "2d 03:14:05"
    assert countdown_text(59) == "00:00:59"
    assert countdown_text(86_399) == "23:59:59"
    assert countdown_text(-5) == "00:00:00"
