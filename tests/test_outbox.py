"""The outbox relay: leases, retries with backoff, dead rows, mail through a real SMTP server."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.jobs.work import deliver_outbox
from skyslots.mail.compose import Mail, compose, message_id
from skyslots.mail.transport import mail_transport
from skyslots.models import OutboxMessage
from skyslots.models.outbox import DeliveryStatus
from skyslots.outbox.relay import Leased, deliver, lease_due
from skyslots.outbox.retry import DeliveryFailed
from skyslots.outbox.senders import senders
from skyslots.outbox.service import outbox_add
from skyslots.privacy.scrub import PURGED_ERROR, scrub_outbox
from skyslots.privacy.traces import Traces
from tests.conftest import empty_tables, make_settings
from tests.helpers import (
    Account,
    booking_body,
    eventually,
    make_account,
    make_event,
    make_slots,
    pilot_slots,
)
from tests.smtp_sink import Sink, html_of, text_of

LEASE = 60.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sink: tuple[Sink, str]) -> Settings:
    return make_settings(database_url, tmp_path, smtp_url=sink[1], outbox_poll_seconds=0.2)


@pytest.fixture
async def bare_db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A database without the app (so no in-process relay competes with the test's own)."""
    database = Database(make_settings(database_url, tmp_path))
    await empty_tables(database)
    try:
        yield database
    finally:
        await database.dispose()


async def add_rows(
    db: Database, count: int, kind: str = "test.kind", target: str | None = None
) -> None:
    async def add(session: AsyncSession) -> None:
        for number in range(count):
            await outbox_add(
                session, kind=kind, target=target or f"t{number}", payload={"n": number},
                dedupe_key=f"{kind}:{number}",
            )  # fmt: skip

    await db.transaction(add)


async def rows(db: Database) -> list[OutboxMessage]:
    async def read(session: AsyncSession) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return await db.read(read)


async def make_due(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            update(OutboxMessage.__table__).values(next_attempt_at=utcnow())  # type: ignore[attr-defined]
        )


async def offer_for(client: httpx.AsyncClient, db: Database, name: str) -> dict[str, Any]:
    """A waitlist entry with an email whose offer is made (its slot just freed)."""
    organizer: Account = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, title="Heathrow <Rush>")
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    booked = (await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))).json()
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": name, "pilot_callsign": "DLH1", "email": "Wait@Example.com",
              "slot_id": slot["id"]},
    )  # fmt: skip
    assert joined.status_code == 201, joined.text
    released = await client.post(
        f"/api/bookings/{booked['id']}/release", headers={"X-Manage-Token": booked["manage_token"]}
    )
    assert released.status_code == 200, released.text
    return joined.json()


async def test_an_offer_is_mailed_at_once_with_a_link_that_opens_it(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    joined = await offer_for(client, db, "Jane <Doe>")
    [mail] = await asyncio.to_thread(sink[0].wait_for, 1)  # kicked after commit, no poll wait
    assert mail["To"] == "wait@example.com"
    assert "org@example.com" not in mail.as_string()
    [row] = await eventually(lambda: rows(db), lambda found: found[0].status != "pending")
    assert (row.kind, row.status, row.attempts) == ("waitlist.offered", "sent", 1)
    assert mail["Message-ID"] == message_id(row.dedupe_key, "SkySlots <skyslots@localhost>")
    text, html = text_of(mail), html_of(mail)
    assert "Hello Jane <Doe>," in text and "Jane &lt;Doe&gt;" in html
    assert "Heathrow &lt;Rush&gt;" in html and "<Rush>" not in html
    link = next(word for word in text.split() if word.startswith("http://"))
    parts = urlsplit(link)
    assert parts.path == f"/waitlist/{joined['id']}"
    token = parse_qs(parts.query)["token"][0]
    assert token != joined["manage_token"]  # derived for the mail, never stored
    opened = await client.get(f"/api/waitlist/{joined['id']}", headers={"X-Manage-Token": token})
    assert opened.status_code == 200 and opened.json()["status"] == "offered"
    forged = await client.get(
        f"/api/waitlist/{joined['id']}", headers={"X-Manage-Token": token[:-2] + "xx"}
    )
    assert forged.status_code == 403
    accepted = await client.post(
        f"/api/waitlist/{joined['id']}/accept", headers={"X-Manage-Token": token}
    )
    assert accepted.status_code == 201, accepted.text


async def test_smtp_refusing_for_a_while_delays_the_mail_and_drops_none(
    app: Any, client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str], settings: Settings
) -> None:
    sink[0].refuse = True
    await offer_for(client, db, "Jane")
    # The attempt counts at its lease; its outcome is written after the answer.
    [row] = await eventually(lambda: rows(db), lambda found: bool(found[0].last_error))
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.last_error == "SMTP answered 451"
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=10)  # backing off
    sink[0].refuse = False
    await make_due(db)
    counts = await deliver_outbox(db, settings, senders(db, settings))
    assert counts[DeliveryStatus.SENT] == 1
    assert len(await asyncio.to_thread(sink[0].wait_for, 1)) == 1
    [row] = await rows(db)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert await deliver_outbox(db, settings, senders(db, settings)) == dict.fromkeys(
        DeliveryStatus, 0
    )  # nothing left: sent once


async def test_retries_back_off_and_the_last_attempt_leaves_the_row_dead(bare_db: Database) -> None:
    db = bare_db
    await add_rows(db, 2)
    attempts: Counter[int] = Counter()

    async def failing(leased: Leased) -> None:
        attempts[leased.id] += 1
        if leased.payload["n"] == 0:
            raise DeliveryFailed("receiver down", retry_after=120)
        raise DeliveryFailed("no such receiver", permanent=True)

    senders_ = {"test.kind": failing}
    before = utcnow()
    counts = await deliver(db, senders_, lease_seconds=LEASE, max_attempts=3)
    assert counts == {DeliveryStatus.SENT: 0, DeliveryStatus.PENDING: 1, DeliveryStatus.DEAD: 1}
    retried, dead = await rows(db)
    assert retried.status == "pending" and retried.last_error == "receiver down"
    assert retried.next_attempt_at >= before + timedelta(seconds=120)  # Retry-After honoured
    assert dead.status == "dead" and dead.last_error == "no such receiver"
    for _ in range(4):
        await make_due(db)
        await deliver(db, senders_, lease_seconds=LEASE, max_attempts=3)
    retried, dead = await rows(db)
    assert (retried.status, retried.attempts) == ("dead", 3)
    assert attempts == Counter({retried.id: 3, dead.id: 1})  # a dead row is never tried again


async def test_a_row_killed_while_its_attempt_runs_stays_dead(bare_db: Database) -> None:
    """An erasure (or a webhook's removal) that kills rows while their attempts run wins over
    the attempts' outcomes: neither a failure's backoff nor a success brings them back."""
    db = bare_db
    person = Traces(emails={"jane@example.org"})

    async def erased_meanwhile(leased: Leased) -> None:
        async with db.engine.begin() as connection:
            await scrub_outbox(connection, person, everywhere=True)
        if leased.payload["n"] == 0:
            raise DeliveryFailed("SMTP answered 451")

    await add_rows(db, 2, target="jane@example.org")
    counts = await deliver(db, {"test.kind": erased_meanwhile}, lease_seconds=LEASE, max_attempts=3)
    assert counts == {DeliveryStatus.SENT: 0, DeliveryStatus.PENDING: 0, DeliveryStatus.DEAD: 2}
    assert [(r.status, r.last_error, r.target) for r in await rows(db)] == [
        ("dead", PURGED_ERROR, "(deleted)"),
    ] * 2
    later = utcnow() + timedelta(days=1)
    assert await db.transaction(lease_due, lease_seconds=LEASE, now=later) == []


async def test_a_leased_row_is_not_taken_again_until_its_lease_runs_out(bare_db: Database) -> None:
    db = bare_db
    await add_rows(db, 1)
    [first] = await db.transaction(lease_due, lease_seconds=LEASE)
    assert await db.transaction(lease_due, lease_seconds=LEASE) == []
    later = utcnow() + timedelta(seconds=LEASE + 1)  # the worker holding it died meanwhile
    [again] = await db.transaction(lease_due, lease_seconds=LEASE, now=later)
    assert (again.id, again.attempts) == (first.id, 2)


async def test_a_rolled_back_unit_of_work_leaves_nothing_to_send(bare_db: Database) -> None:
    db = bare_db

    async def fails(session: AsyncSession) -> None:
        await outbox_add(session, kind="test.kind", target="t", payload={}, dedupe_key="k")
        raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await db.transaction(fails)
    assert await rows(db) == []


async def test_unknown_kinds_die_instead_of_looping(bare_db: Database) -> None:
    db = bare_db
    await add_rows(db, 1, kind="nobody.sends.this")
    counts = await deliver(db, {}, lease_seconds=LEASE, max_attempts=5)
    assert counts[DeliveryStatus.DEAD] == 1


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_concurrent_relays_deliver_every_row_once(bare_db: Database) -> None:
    db = bare_db
    await add_rows(db, 300)
    delivered: Counter[int] = Counter()

    async def slow(leased: Leased) -> None:
        await asyncio.sleep(0.002)
        delivered[leased.id] += 1

    async def relay() -> None:
        while sum(
            (await deliver(db, {"test.kind": slow}, lease_seconds=LEASE, max_attempts=3)).values()
        ):
            pass

    await asyncio.gather(*(relay() for _ in range(6)))
    assert len(delivered) == 300 and set(delivered.values()) == {1}
    assert {row.status for row in await rows(db)} == {"sent"}


async def test_without_smtp_mails_become_eml_files(tmp_path: Path) -> None:
    transport = mail_transport(None, data_dir=tmp_path, timeout=5)
    context = {"name": "A", "label": "EGLL_TWR", "event_title": "E", "callsign": "BAW1",
               "link": "http://x", "subject": "Booked"}  # fmt: skip
    message = compose(
        Mail("waitlist_promoted", "Booked", context),
        to="x@example.com",
        mail_from="SkySlots <skyslots@localhost>",
        dedupe_key="k",
    )
    await transport.send(message)
    [written] = (tmp_path / "outbox-mail").glob("*.eml")
    assert b"EGLL_TWR" in written.read_bytes()


async def test_a_booking_with_an_email_is_confirmed_with_its_link_and_calendar_then_released(
    client: httpx.AsyncClient, db: Database, sink: tuple[Sink, str]
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, title="Heathrow <Rush>")
    [slot] = await make_slots(client, organizer, event, [{"position_name": "EGLL_TWR"}])
    booked = await client.post(
        f"/api/slots/{slot['id']}/book",
        json=booking_body("BAW1", name="Jane <Doe>", email="Jane@Example.com"),
    )
    assert booked.status_code == 201, booked.text
    [confirmed] = await asyncio.to_thread(sink[0].wait_for, 1)
    assert confirmed["To"] == "jane@example.com"
    assert confirmed["Subject"] == "Booked: EGLL_TWR at Heathrow <Rush>"
    assert "Jane &lt;Doe&gt;" in html_of(confirmed)
    [ics] = [part for part in confirmed.iter_attachments()]
    assert (ics.get_filename(), ics.get_content_type()) == ("booking.ics", "text/calendar")
    calendar = ics.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    [entry] = Calendar.from_ical(calendar).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "EGLL_TWR · Heathrow <Rush>"
    assert entry.decoded("DTSTART").isoformat() == event["start_datetime"].replace("Z", "+00:00")
    link = next(w for w in text_of(confirmed).split() if "/manage?token=" in w)
    manage = await client.get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert manage.status_code == 200 and "EGLL_TWR" in manage.text
    token = parse_qs(urlsplit(link).query)["token"][0]
    released = await client.post(
        f"/api/bookings/{booked.json()['id']}/release", headers={"X-Manage-Token": token}
    )
    assert released.status_code == 200, released.text  # the mailed link releases it too
    mails = await asyncio.to_thread(sink[0].wait_for, 2)
    assert mails[1]["Subject"] == "Released: EGLL_TWR at Heathrow <Rush>"
    nobody = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("DLH1")
    )  # no email, no mail
    assert nobody.status_code == 201
    assert [row.kind for row in await rows(db)] == ["booking.confirmed", "booking.released"]
