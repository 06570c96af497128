"""Email confirmation: a booking waits for its mail's link, holds the slot meanwhile, and is
released (to the waitlist) when it runs out."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.holds.sweep import sweep_once
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.smtp_sink import Sink, text_of
from tests.test_web_event_rules import event_fields
from tests.test_web_views import page_csrf, web_login


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(database_url, tmp_path, smtp_url=sink[1], outbox_poll_seconds=0.2)


async def confirming_event(
    client: httpx.AsyncClient, db: Database
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(
        client, organizer, require_email_confirmation=True, confirm_seconds=600, hold_seconds=0
    )
    return organizer, event, await make_slots(client, organizer, event, pilot_slots(2))


async def slot_of(client: httpx.AsyncClient, event: dict[str, Any], slot_id: int) -> dict:
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    return next(s for s in detail["slots"] if s["id"] == slot_id)


def link_in(mail: Any) -> tuple[str, str]:
    link = next(w for w in text_of(mail).split() if "/confirm?token=" in w)
    parts = urlsplit(link)
    return parts.path, parse_qs(parts.query)["token"][0]


async def test_a_booking_is_held_until_its_mailed_link_confirms_it(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    _, event, [slot, _] = await confirming_event(client, db)
    no_email = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert no_email.status_code == 422 and "email" in no_email.text
    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="Jane@Example.com")
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "pending"
    shown = await slot_of(client, event, slot["id"])
    assert shown["status"] == "held" and shown["booking"] is None and shown["expires_at"]
    other = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("DLH2", email="d@example.com")
    )
    assert other.status_code == 409 and other.json()["code"] == "slot_held"

    [mail] = await asyncio.to_thread(sink[0].wait_for, 1)
    assert mail["To"] == "jane@example.com"
    assert str(mail["Subject"]).strip().startswith("Confirm your booking")
    path, token = link_in(mail)
    assert path == f"/bookings/{booked.json()['id']}/confirm"
    page = await client.get(f"{path}?token={token}")  # the link's page: a Confirm button
    assert page.status_code == 200 and 'data-role="confirm-form"' in page.text
    wrong = await client.post(f"/api/bookings/{booked.json()['id']}/confirm", json={"token": "x"})
    assert wrong.status_code == 403
    confirmed = await client.post(
        f"/api/bookings/{booked.json()['id']}/confirm", json={"token": token}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "claimed"
    shown = await slot_of(client, event, slot["id"])
    assert shown["status"] == "taken" and shown["booking"]["pilot_callsign"] == "BAW1"
    again = await client.post(f"/api/bookings/{booked.json()['id']}/confirm", json={"token": token})
    assert again.status_code == 200  # following the link twice is harmless
    mails = await asyncio.to_thread(sink[0].wait_for, 2)
    assert str(mails[1]["Subject"]).strip().startswith("Booked:")  # then the usual confirmation


async def test_an_unconfirmed_booking_runs_out_and_the_waitlist_gets_the_slot(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    organizer, event, [slot, _] = await confirming_event(client, db)
    before = utcnow()  # the booking's 600 s start between `before` and `after`
    booked = (
        await client.post(
            f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="j@example.com")
        )
    ).json()
    after = utcnow()
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "W", "pilot_callsign": "DLH1", "slot_id": slot["id"]},
    )
    assert joined.status_code == 201, joined.text
    [mail] = await asyncio.to_thread(sink[0].wait_for, 1)
    _, token = link_in(mail)
    assert await sweep_once(db, now=before + timedelta(seconds=599)) == 0
    assert await sweep_once(db, now=after + timedelta(seconds=601)) == 1
    late = await client.post(f"/api/bookings/{booked['id']}/confirm", json={"token": token})
    assert late.status_code == 409 and late.json()["code"] == "confirmation_expired"
    shown = await slot_of(client, event, slot["id"])
    assert shown["status"] == "held"  # offered to the first in line
    audit = await client.get(f"/api/events/{event['id']}/audit", headers=organizer.headers)
    assert "confirmation.expired" in audit.text


async def test_the_event_form_turns_confirmation_on_and_the_mail_page_confirms(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, hold_seconds=0)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    await web_login(client, organizer.email)
    path = f"/organizer/events/{event['id']}/edit"
    token = await page_csrf(client, path)
    fields = event_fields(token, title=event["title"], status="published")
    fields |= {"start_datetime": event["start_datetime"][:16],
               "end_datetime": event["end_datetime"][:16]}  # fmt: skip
    saved = await client.post(
        path, data={**fields, "require_email_confirmation": "true", "confirm_seconds": "900"}
    )
    assert saved.status_code == 303, saved.text
    settings_now = (await client.get(f"/api/events/{event['id']}")).json()
    assert (settings_now["require_email_confirmation"], settings_now["confirm_seconds"]) == (
        True, 900,
    )  # fmt: skip
    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="j@example.com")
    )
    assert booked.json()["status"] == "pending"
    [mail] = await asyncio.to_thread(sink[0].wait_for, 1)
    link_path, link_token = link_in(mail)
    page = await client.get(f"{link_path}?token={link_token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = await client.post(link_path, data={"csrf_token": csrf.group(1), "token": link_token})
    assert done.status_code == 200 and "Confirmed: the slot is yours." in done.text
    assert (await slot_of(client, event, slot["id"]))["status"] == "taken"
