"""Privacy: the exports (GET /api/me/data, GET /api/bookings/{id}/data) and the deletions
(DELETE /api/me, DELETE /api/bookings/{id}/personal-data), each checked afterwards by a search of
every column of every table for the person's email and name. Real SMTP server, real webhook
receiver, both engines."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.models import Booking, IdempotencyKey, OutboxMessage, Role, WaitlistEntry
from skyslots.reminders.due import reminders_due
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.http_receiver import Receiver, http_receiver
from tests.privacy_support import (
    Person,
    assert_nowhere,
    assert_somewhere,
    every_row,
    make_person,
    settled_rows,
)
from tests.smtp_sink import Sink

SETTLE_SECONDS = 15.0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(
        database_url,
        tmp_path,
        smtp_url=sink[1],
        outbox_poll_seconds=0.2,
        webhooks_allow_private=True,
    )


async def outbox(db: Database) -> list[OutboxMessage]:
    async def read(session: AsyncSession) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return await db.read(read)


async def settled(db: Database) -> list[OutboxMessage]:
    """The outbox once nothing is pending any more (every row sent or dead)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        rows = await outbox(db)
        if all(r.status != "pending" for r in rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, [(r.kind, r.status) for r in rows]
        await asyncio.sleep(0.05)


async def rows_of(db: Database, model: Any) -> list[Any]:
    async def read(session: AsyncSession) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.id)))

    return await db.read(read)


async def replays(db: Database, slot: dict[str, Any]) -> int:
    """The kept answers of bookings of `slot` (encrypted, so the search cannot read them)."""
    path = f"POST /api/slots/{slot['id']}/book"

    async def read(session: AsyncSession) -> int:
        count = select(func.count()).where(IdempotencyKey.path == path)
        return int(await session.scalar(count) or 0)

    return await db.read(read)


async def slot_states(client: httpx.AsyncClient, event: dict[str, Any]) -> dict[int, str]:
    snapshot = (await client.get(f"/api/events/{event['id']}/state")).json()
    return {slot["id"]: slot["status"] for slot in snapshot["slots"]}


async def rich_event(
    client: httpx.AsyncClient, organizer: Account, receiver: Receiver, count: int = 3
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A published event with pilot slots and a webhook endpoint that gets bookers' emails."""
    event = await make_event(client, organizer, hold_seconds=0, max_slots_per_person=3)
    slots = await make_slots(client, organizer, event, pilot_slots(count))
    hook = await client.post(
        f"/api/events/{event['id']}/webhooks",
        json={
            "url": receiver.url,
            "events": ["booking.claimed", "booking.released", "waitlist.promoted"],
            "include_email": True,
        },
        headers=organizer.headers,
    )
    assert hook.status_code == 201, hook.text
    return event, slots


async def book(
    client: httpx.AsyncClient,
    slot: dict[str, Any],
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await client.post(f"/api/slots/{slot['id']}/book", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def remind(db: Database, event: dict[str, Any]) -> None:
    """Write the one-day reminders now (as the scan would, a day before the event)."""
    start = datetime.fromisoformat(event["start_datetime"])
    assert await db.transaction(reminders_due, now=start - timedelta(minutes=1439)) >= 1


async def person_with_everything(
    client: httpx.AsyncClient,
    db: Database,
    sink: Sink,
    organizer: Account,
    event: dict[str, Any],
    slots: list[dict[str, Any]],
) -> tuple[Person, dict[str, Any]]:
    """A signed-in member who booked slot 0 (email, notes, an Idempotency-Key; confirmed by
    mail through the SMTP server, with a reminder queued), booked slot 1 anonymously with the
    same email, and waits for slot 2 (taken by someone else); somebody waits for slot 0."""
    person = await make_person(db, client)
    body = booking_body("ZLD1", name=person.name, email=person.email, notes="Discord zelda#42")
    key = {"Idempotency-Key": secrets.token_hex(8)}
    first = await book(client, slots[0], body, person.account.headers | key)
    await asyncio.to_thread(sink.wait_for, 1)
    second = booking_body("ZLD2", name=person.name, email=person.email.upper())
    await book(client, slots[1], second)
    await book(client, slots[2], booking_body("OTH1", name="Other Pilot"))
    waits = [
        {"pilot_name": person.name, "pilot_callsign": "ZLD3", "email": person.email},
        {"pilot_name": "Next Waiter", "pilot_callsign": "NXT1", "email": "next@example.com"},
    ]
    for wait, slot in zip(waits, (slots[2], slots[0]), strict=True):
        joined = await client.post(
            f"/api/events/{event['id']}/waitlist", json={**wait, "slot_id": slot["id"]}
        )
        assert joined.status_code == 201, joined.text
    await remind(db, event)
    await settled(db)
    return person, first


async def test_my_data_export_holds_everything_about_me_and_no_secret(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await rich_event(client, organizer, receiver)
    person, first = await person_with_everything(client, db, sink[0], organizer, event, slots)
    response = await client.get("/api/me/data", headers=person.account.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        'attachment; filename="skyslots-my-data.json"'
    )
    data = response.json()
    assert data["user"] == {
        "id": person.account.id, "name": person.name, "email": person.email, "role": "member",
        "vatsim_id": None, "rating_id": None, "rating_short": None,
        "created_at": data["user"]["created_at"], "has_password": True, "calendar_feed": False,
    }  # fmt: skip
    bookings = data["bookings"]
    assert [b["pilot_callsign"] for b in bookings] == ["ZLD1", "ZLD2"]  # by account, by email
    assert bookings[0]["id"] == first["id"] and bookings[0]["user_id"] == person.account.id
    assert bookings[0]["notes"] == "Discord zelda#42" and bookings[1]["user_id"] is None
    assert bookings[0]["slot"]["position_name"] == slots[0]["position_name"]
    assert bookings[0]["event"]["title"] == event["title"]
    [entry] = data["waitlist_entries"]
    assert (entry["pilot_callsign"], entry["status"], entry["email"]) == (
        "ZLD3", "waiting", person.email,
    )  # fmt: skip
    assert [a["action_type"] for a in data["audit"]] == ["booking.claimed"]
    assert data["audit"][0]["actor"] == f"user:{person.account.id} {person.name}"
    assert data["events"] == [] and data["webhook_endpoints"] == [] and data["api_tokens"] == []
    for secret in ("manage_token", "password_hash", "token_hash", "$argon2"):
        assert secret not in response.text

    made = await client.post(
        "/api/me/tokens", json={"name": "roster script", "scope": "read"}, headers=organizer.headers
    )
    assert made.status_code == 201, made.text
    mine = (await client.get("/api/me/data", headers=organizer.headers)).json()
    [token] = mine["api_tokens"]
    assert (token["name"], token["scope"], token["revoked_at"]) == ("roster script", "read", None)
    assert made.json()["token"] not in str(mine) and "token_hash" not in str(mine)
    assert mine["events"] == [{"id": event["id"], "title": event["title"]}]
    [hook] = mine["webhook_endpoints"]
    assert hook == {"id": hook["id"], "event_id": event["id"], "url": receiver.url}
    assert "whsec_" not in str(mine) and mine["bookings"] == []
    assert {a["action_type"] for a in mine["audit"]} >= {"event.created", "webhook.created"}
    assert (await client.get("/api/me/data")).status_code == 401


async def test_deleting_my_account_leaves_my_email_and_name_nowhere(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await rich_event(client, organizer, receiver)
    person, first = await person_with_everything(client, db, sink[0], organizer, event, slots)
    for needle in (person.email, person.name):  # the control: the search finds them now
        await assert_somewhere(db, needle)
    kinds = {row.kind for row in await outbox(db)}
    assert {"booking.confirmed", "booking.reminder", "webhook"} <= kinds
    assert await replays(db, slots[0]) == 1
    mails_before = len(sink[0].messages)
    version = (await client.get(f"/api/events/{event['id']}/state")).json()["version"]

    deleted = await client.delete("/api/me", headers=person.account.headers)
    assert deleted.status_code == 204, deleted.text
    rows = await settled(db)
    await assert_nowhere(db, person.email, person.name)

    # The bookings are kept, anonymised; the slots they held are free again or offered on.
    bookings = {b.pilot_callsign: b for b in await rows_of(db, Booking)}
    for callsign in ("ZLD1", "ZLD2"):
        booking = bookings[callsign]
        assert (booking.pilot_name, booking.email, booking.notes, booking.user_id) == (
            "Deleted user", None, "", None,
        )  # fmt: skip
        assert booking.status == "released"
    states = await slot_states(client, event)
    assert states[slots[0]["id"]] == "held"  # offered to the next waiter
    assert states[slots[1]["id"]] == "free"
    [offer] = [b for b in await rows_of(db, Booking) if b.status == "offered"]
    assert (offer.slot_id, offer.pilot_callsign) == (slots[0]["id"], "NXT1")
    entries = {e.pilot_callsign: e for e in await rows_of(db, WaitlistEntry)}
    assert (entries["ZLD3"].status, entries["ZLD3"].email) == ("left", None)
    # The roster heard of it (the polling log), with no name.
    changes = (await client.get(f"/api/events/{event['id']}/state?since={version}")).json()
    assert [c["change"] for c in changes["changes"]].count("booking.released") == 2

    # No mail went to the deleted address; the offer went to the next waiter.
    await asyncio.to_thread(sink[0].wait_for, mails_before + 1)
    later = sink[0].messages[mails_before:]
    assert [m["To"] for m in later] == ["next@example.com"]
    scrubbed = [r for r in rows if r.target == "(deleted)"]
    assert {r.kind for r in scrubbed} >= {"booking.confirmed", "booking.reminder", "webhook"}
    assert all(r.payload == {} for r in scrubbed)
    # The webhook receiver was told of the releases, as "Deleted user" without an email.
    released = [r.json() for r in receiver.received() if r.json()["type"] == "booking.released"]
    assert len(released) == 2
    assert all(r["data"]["booking"]["pilot_name"] == "Deleted user" for r in released)
    assert all(r["data"]["booking"]["email"] is None for r in released)
    # The replayed answer of the first booking is gone, the account too.
    assert await replays(db, slots[0]) == 0
    assert (await client.get("/api/auth/me", headers=person.account.headers)).status_code == 401
    assert first["manage_token"] not in str(await every_row(db))


async def test_pending_deliveries_to_a_deleted_address_die(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    _, slots = await rich_event(client, organizer, receiver, count=1)
    person = await make_person(db, client)
    sink[0].refuse = True  # the confirmation mail waits for a retry
    body = booking_body("ZLD1", name=person.name, email=person.email)
    await book(client, slots[0], body, person.account.headers)

    async def tried(session: AsyncSession) -> bool:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.attempts > 0))
        return any(r.kind == "booking.confirmed" for r in rows)

    for _ in range(200):
        if await db.read(tried):
            break
        await asyncio.sleep(0.05)
    assert (await client.delete("/api/me", headers=person.account.headers)).status_code == 204
    [mail] = [r for r in await outbox(db) if r.kind == "booking.confirmed"]
    assert (mail.status, mail.last_error, mail.target, mail.payload) == (
        "dead", "personal data deleted", "(deleted)", {},
    )  # fmt: skip
    sink[0].refuse = False
    await settled(db)
    await assert_nowhere(db, person.email, person.name)


async def test_an_organizer_with_events_cannot_delete_the_account_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_person(db, client, role=Role.ORGANIZER)
    event, slots = await rich_event(client, organizer.account, receiver, count=1)
    mine = booking_body("ORG1", name=organizer.name)
    await book(client, slots[0], mine, organizer.account.headers)
    await settled(db)
    before = await settled_rows(db)
    refused = await client.delete("/api/me", headers=organizer.account.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "owns_events"
    assert event["title"] in refused.json()["detail"]
    assert "hand them over" in refused.json()["detail"]
    assert await settled_rows(db) == before


async def test_without_a_valid_sign_in_nothing_is_deleted(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await rich_event(client, organizer, receiver)
    _, first = await person_with_everything(client, db, sink[0], organizer, event, slots)
    before = await settled_rows(db)
    assert (await client.delete("/api/me")).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert (await client.delete("/api/me", headers=bogus)).status_code == 401
    url = f"/api/bookings/{first['id']}/personal-data"
    wrong = await client.delete(url, headers={"X-Manage-Token": "not-the-token"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "bad_token"
    assert (await client.get(f"/api/bookings/{first['id']}/data")).status_code == 422
    peek = await client.get(
        f"/api/bookings/{first['id']}/data", headers={"X-Manage-Token": "not-the-token"}
    )
    assert peek.status_code == 403
    missing = await client.delete(
        "/api/bookings/999999/personal-data", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert missing.status_code == 404
    assert await settled_rows(db) == before


async def test_a_booker_exports_then_deletes_a_bookings_personal_data_by_its_token(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await rich_event(client, organizer, receiver, count=2)
    name, email = "Yorick Brandywine", "yorick.b@privacy.example"
    body = booking_body("YRK1", name=name, email=email, notes="Vegan meal please")
    booked = await book(client, slots[0], body, {"Idempotency-Key": secrets.token_hex(8)})
    await asyncio.to_thread(sink[0].wait_for, 1)
    keep = booking_body("KEEP1", name="Kept Pilot", email="kept@example.com")
    await book(client, slots[1], keep)  # someone else's booking: untouched
    waiting = {"pilot_name": "Next Waiter", "pilot_callsign": "NXT1", "slot_id": slots[0]["id"]}
    joined = await client.post(f"/api/events/{event['id']}/waitlist", json=waiting)
    assert joined.status_code == 201
    await remind(db, event)
    await settled(db)
    token = {"X-Manage-Token": booked["manage_token"]}

    exported = await client.get(f"/api/bookings/{booked['id']}/data", headers=token)
    assert exported.status_code == 200, exported.text
    data = exported.json()
    assert (data["booking"]["pilot_name"], data["booking"]["email"]) == (name, email)
    assert data["booking"]["notes"] == "Vegan meal please"
    assert data["slot"]["id"] == slots[0]["id"] and data["event"]["id"] == event["id"]
    assert "manage_token" not in exported.text and "hash" not in exported.text

    mails_before = len(sink[0].messages)
    assert await replays(db, slots[0]) == 1
    deleted = await client.delete(f"/api/bookings/{booked['id']}/personal-data", headers=token)
    assert deleted.status_code == 204, deleted.text
    assert await replays(db, slots[0]) == 0
    await settled(db)
    await assert_nowhere(db, email, name, "Vegan meal")
    await assert_somewhere(db, "kept@example.com")  # only this booking's data went
    after = (await client.get(f"/api/bookings/{booked['id']}/data", headers=token)).json()
    assert after["booking"] | {"claimed_at": None} == {
        **data["booking"], "claimed_at": None, "pilot_name": "Deleted user", "email": None,
        "notes": "", "status": "released", "released_at": after["booking"]["released_at"],
    }  # fmt: skip
    assert (await slot_states(client, event))[slots[0]["id"]] == "held"  # offered to the waiter
    await asyncio.sleep(0.5)
    assert all(m["To"] != email for m in sink[0].messages[mails_before:])  # no release mail
    again = await client.delete(f"/api/bookings/{booked['id']}/personal-data", headers=token)
    assert again.status_code == 204  # nothing left to delete: still fine


async def test_a_booking_from_the_waitlist_forgets_its_entry_too(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, hold_seconds=0, waitlist_mode="claim")
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    first = await book(client, slot, booking_body("FST1", name="First Pilot"))
    name, email = "Wanda Waitwell", "wanda@privacy.example"
    wait = {"pilot_name": name, "pilot_callsign": "WND1", "email": email, "slot_id": slot["id"]}
    joined = (await client.post(f"/api/events/{event['id']}/waitlist", json=wait)).json()
    released = await client.post(
        f"/api/bookings/{first['id']}/release", headers={"X-Manage-Token": first["manage_token"]}
    )
    assert released.status_code == 200
    [promoted] = [b for b in await rows_of(db, Booking) if b.pilot_callsign == "WND1"]
    await settled(db)
    deleted = await client.delete(
        f"/api/bookings/{promoted.id}/personal-data",
        headers={"X-Manage-Token": joined["manage_token"]},  # the waitlist token manages it
    )
    assert deleted.status_code == 204, deleted.text
    await settled(db)
    await assert_nowhere(db, email, name)
    assert (await slot_states(client, event))[slot["id"]] == "free"
