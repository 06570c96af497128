"""Outbound webhooks against a real HTTP receiver: endpoints and their authorization, signed
deliveries verified with the `standardwebhooks` package, retries, 410, address checks."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from skyslots.app import create_app
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.service import booking_claim
from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.models import OutboxMessage, Role, WebhookEndpoint
from skyslots.outbox.relay import Leased
from skyslots.outbox.retry import DeliveryFailed
from skyslots.webhooks.addresses import address_refused
from skyslots.webhooks.sender import retry_after, webhook_sender
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.http_receiver import Receiver, http_receiver

SETTLE_SECONDS = 10.0
ALL_TYPES = [
    "booking.claimed",
    "booking.released",
    "booking.moved",
    "waitlist.promoted",
    "event.updated",
    "event.cancelled",
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # The receiver listens on 127.0.0.1, so private addresses are allowed here (not by default).
    return make_settings(
        database_url, tmp_path, webhooks_allow_private=True, outbox_poll_seconds=0.2
    )


async def wait_for(receiver: Receiver, count: int) -> list[Any]:
    return await asyncio.to_thread(receiver.wait_for, count)


async def outbox_rows(db: Database, kind: str = "webhook") -> list[OutboxMessage]:
    async def read(session: AsyncSession) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list(await session.scalars(query))

    return await db.read(read)


async def rows_until(
    db: Database, done: Callable[[list[OutboxMessage]], bool]
) -> list[OutboxMessage]:
    """The webhook rows, once `done(rows)` holds (or after SETTLE_SECONDS, for the assertion)."""
    deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
    while True:
        rows = await outbox_rows(db)
        if done(rows) or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.05)


def all_(status: str, count: int = 1) -> Callable[[list[OutboxMessage]], bool]:
    return lambda rows: len(rows) == count and all(r.status == status for r in rows)


def tried(rows: list[OutboxMessage]) -> bool:
    return bool(rows) and all(r.last_error is not None for r in rows)


async def make_due(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            update(OutboxMessage.__table__).values(next_attempt_at=utcnow())  # type: ignore[attr-defined]
        )


async def add_webhook(
    client: httpx.AsyncClient, organizer: Account, event: dict[str, Any], url: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/events/{event['id']}/webhooks",
        json={"url": url, "events": ["booking.claimed"], **body},
        headers=organizer.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def one_slot_event(
    client: httpx.AsyncClient, db: Database, **overrides: Any
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, **overrides)
    slots = await make_slots(client, organizer, event, pilot_slots(2))
    return organizer, event, slots


def verified(secret: str, request: Any) -> dict[str, Any]:
    """The body, once `standardwebhooks` accepts its signature (it raises otherwise)."""
    return Webhook(secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


async def test_endpoints_are_created_listed_and_deleted_with_the_secret_shown_once(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    created = await add_webhook(
        client, organizer, event, receiver.url,
        events=["booking.claimed", "event.updated", "booking.claimed"], include_email=True,
    )  # fmt: skip
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert created["events"] == ["booking.claimed", "event.updated"]
    assert (created["url"], created["include_email"], created["disabled_at"]) == (
        receiver.url, True, None,
    )  # fmt: skip
    listed = await client.get(f"/api/events/{event['id']}/webhooks", headers=organizer.headers)
    assert listed.status_code == 200
    [shown] = listed.json()
    assert shown["id"] == created["id"] and shown["secret"] == f"whsec_…{secret[-4:]}"
    assert secret not in listed.text
    deleted = await client.delete(f"/api/webhooks/{created['id']}", headers=organizer.headers)
    assert deleted.status_code == 204
    after = await client.get(f"/api/events/{event['id']}/webhooks", headers=organizer.headers)
    assert after.json() == []
    again = await client.delete(f"/api/webhooks/{created['id']}", headers=organizer.headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.org/hook", "events": ["booking.claimed"]},
        {"url": "not a url", "events": ["booking.claimed"]},
        {"url": "https://example.org/hook", "events": ["booking.exploded"]},
        {"url": "https://example.org/hook", "events": []},
        {"url": "https://example.org/hook", "events": ["webhook.test"]},
    ],
)
async def test_bad_urls_and_event_types_are_422(
    client: httpx.AsyncClient, db: Database, body: dict[str, Any]
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    response = await client.post(
        f"/api/events/{event['id']}/webhooks", json=body, headers=organizer.headers
    )
    assert response.status_code == 422, response.text


async def test_every_endpoint_needs_the_events_organizer(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    other = await make_account(db, client, email="other@example.com")
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    calls = [
        ("POST", f"/api/events/{event['id']}/webhooks",
         {"url": receiver.url, "events": ["booking.claimed"]}),
        ("GET", f"/api/events/{event['id']}/webhooks", None),
        ("POST", f"/api/webhooks/{created['id']}/test", None),
        ("DELETE", f"/api/webhooks/{created['id']}", None),
    ]  # fmt: skip
    for method, path, body in calls:
        for headers, status in (({}, 401), (other.headers, 403), (member.headers, 403)):
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == status, (method, path, response.text)
    listed = await client.get(f"/api/events/{event['id']}/webhooks", headers=organizer.headers)
    assert [w["id"] for w in listed.json()] == [created["id"]]  # nothing was added or deleted
    assert await outbox_rows(db) == []  # and no test was queued
    for path in ("/api/events/999999/webhooks", "/api/webhooks/999999/test"):
        response = await client.post(path, json=calls[0][2], headers=organizer.headers)
        assert response.status_code == 404, response.text
    assert (
        await client.delete("/api/webhooks/999999", headers=organizer.headers)
    ).status_code == 404
    by_admin = await client.get(f"/api/events/{event['id']}/webhooks", headers=admin.headers)
    assert by_admin.status_code == 200


async def test_a_claim_delivers_a_signed_booking_claimed_without_the_email(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    booked = await client.post(
        f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="jane@example.com")
    )
    assert booked.status_code == 201, booked.text
    [request] = await wait_for(receiver, 1)
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    body = verified(created["secret"], request)
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(
            request.body, request.headers
        )
    assert request.headers["webhook-id"] == body["id"] and body["id"].startswith("msg_")
    assert body["type"] == "booking.claimed"
    assert body["event"]["id"] == event["id"] and body["event"]["airport_icao"] == "EGLL"
    assert body["event"]["title"] == event["title"] and body["event"]["start_datetime"]
    booking = body["data"]["booking"]
    assert (booking["id"], booking["pilot_callsign"], booking["status"]) == (
        booked.json()["id"], "BAW1", "claimed",
    )  # fmt: skip
    assert body["data"]["slot"]["id"] == slot["id"] and body["data"]["assigned"] is False
    assert b"jane@example.com" not in request.body and "email" not in booking
    [row] = await rows_until(db, all_("sent"))
    assert (row.status, row.attempts, row.target) == ("sent", 1, str(created["id"]))
    assert row.dedupe_key == f"webhook:{created['id']}:{body['id']}"
    deliveries = await client.get(
        f"/api/events/{event['id']}/deliveries", headers=organizer.headers
    )
    assert any(d["kind"] == "webhook" for d in deliveries.json())


async def test_only_endpoints_asking_for_it_get_the_email_and_only_subscribed_types_go(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    with http_receiver() as plain, http_receiver() as with_email, http_receiver() as other:
        await add_webhook(client, organizer, event, plain.url)
        emailed = await add_webhook(client, organizer, event, with_email.url, include_email=True)
        await add_webhook(client, organizer, event, other.url, events=["event.cancelled"])
        booked = await client.post(
            f"/api/slots/{slot['id']}/book", json=booking_body("BAW1", email="Jane@Example.com")
        )
        assert booked.status_code == 201
        [without] = await wait_for(plain, 1)
        [with_] = await wait_for(with_email, 1)
        assert "email" not in without.json()["data"]["booking"]
        body = verified(emailed["secret"], with_)
        assert body["data"]["booking"]["email"] == "jane@example.com"
        assert without.json()["id"] == body["id"]  # one message, one id, at every endpoint
        await rows_until(db, all_("sent", 2))
        assert other.received() == []
        assert len(await outbox_rows(db)) == 2


async def test_a_500_is_retried_and_the_message_delivered_once(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    receiver.answers.append((500, {"Retry-After": "1"}, b"busy"))
    booked = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert booked.status_code == 201
    await wait_for(receiver, 1)
    [row] = await rows_until(db, tried)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "receiver answered 500")
    assert row.next_attempt_at > utcnow() + timedelta(seconds=5)  # backoff, not Retry-After only
    await make_due(db)
    first, second = await wait_for(receiver, 2)
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    verified(created["secret"], second)
    [row] = await rows_until(db, all_("sent"))
    assert (row.status, row.attempts) == ("sent", 2)
    await asyncio.sleep(0.5)  # two polls: nothing more is sent
    assert len(receiver.received()) == 2


async def test_a_410_disables_the_endpoint_and_its_pending_rows_die(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, slot2] = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    receiver.answers.append((410, {}, b"gone"))
    booked = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert booked.status_code == 201
    await wait_for(receiver, 1)
    [row] = await rows_until(db, all_("dead"))
    assert (row.status, row.last_error) == ("dead", "receiver answered 410: endpoint disabled")
    [shown] = (
        await client.get(f"/api/events/{event['id']}/webhooks", headers=organizer.headers)
    ).json()
    assert shown["disabled_at"] is not None and shown["disabled_reason"] == "receiver answered 410"
    # A disabled endpoint gets nothing more: no row for the next claim, no test.
    again = await client.post(f"/api/slots/{slot2['id']}/book", json=booking_body("BAW2"))
    assert again.status_code == 201
    assert len(await outbox_rows(db)) == 1
    test = await client.post(f"/api/webhooks/{created['id']}/test", headers=organizer.headers)
    assert test.status_code == 409 and test.json()["code"] == "webhook_disabled"


async def test_a_redirect_is_not_followed_and_kills_the_row(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    await add_webhook(client, organizer, event, receiver.url)
    receiver.answers.append((302, {"Location": receiver.url + "/elsewhere"}, b""))
    await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    [row] = await rows_until(db, all_("dead"))
    assert (row.status, row.last_error) == ("dead", "receiver answered 302")
    assert [r.path for r in receiver.received()] == ["/hook"]


async def test_the_test_endpoint_queues_a_signed_webhook_test(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    queued = await client.post(f"/api/webhooks/{created['id']}/test", headers=organizer.headers)
    assert queued.status_code == 202, queued.text
    [request] = await wait_for(receiver, 1)
    body = verified(created["secret"], request)
    assert body["type"] == "webhook.test" and body["data"] == {"webhook_id": created["id"]}
    [row] = await rows_until(db, all_("sent"))
    assert row.id == queued.json()["delivery_id"] and row.status == "sent"


async def test_moves_releases_promotions_and_event_changes_are_sent(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot_a, slot_b] = await one_slot_event(client, db, waitlist_mode="claim")
    created = await add_webhook(client, organizer, event, receiver.url, events=ALL_TYPES)
    booked = await client.post(f"/api/slots/{slot_a['id']}/book", json=booking_body("BAW1"))
    waiting = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "Wait Er", "pilot_callsign": "DLH1", "email": "w@example.com",
              "slot_id": slot_a["id"]},
    )  # fmt: skip
    assert waiting.status_code == 201, waiting.text
    booking_id = booked.json()["id"]
    moved = await client.post(
        f"/api/bookings/{booking_id}/move", json={"slot_id": slot_b["id"]},
        headers=organizer.headers,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    released = await client.post(f"/api/bookings/{booking_id}/release", headers=organizer.headers)
    assert released.status_code == 200, released.text
    patched = await client.patch(
        f"/api/events/{event['id']}", json={"title": "Renamed"}, headers=organizer.headers
    )
    assert patched.status_code == 200
    cancelled = await client.patch(
        f"/api/events/{event['id']}", json={"status": "cancelled"}, headers=organizer.headers
    )
    assert cancelled.status_code == 200
    requests = await wait_for(receiver, 6)
    bodies = {b["type"]: b for b in (verified(created["secret"], r) for r in requests)}
    assert set(bodies) == set(ALL_TYPES)
    moved_body = bodies["booking.moved"]["data"]
    assert (moved_body["from_slot"]["id"], moved_body["slot"]["id"]) == (slot_a["id"], slot_b["id"])
    promoted = bodies["waitlist.promoted"]["data"]
    assert (
        promoted["booking"]["pilot_callsign"] == "DLH1" and promoted["slot"]["id"] == slot_a["id"]
    )
    assert "email" not in promoted["booking"] and b"w@example.com" not in requests[0].body
    assert bodies["booking.released"]["data"]["released_by"] == "organizer"
    assert bodies["event.updated"]["data"]["changes"] == {"title": "Renamed"}
    assert bodies["event.updated"]["event"]["title"] == "Renamed"
    assert bodies["event.cancelled"]["event"]["status"] == "cancelled"


async def test_a_rolled_back_change_sends_nothing(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    await add_webhook(client, organizer, event, receiver.url)

    async def claim_then_fail(session: AsyncSession) -> None:
        await booking_claim(session, slot_id=slot["id"], data=BookingCreate(**booking_body("BAW1")))
        assert len(list(await session.scalars(select(OutboxMessage.id)))) == 1
        raise RuntimeError("the unit of work fails after the claim")

    with pytest.raises(RuntimeError):
        await db.transaction(claim_then_fail)
    await asyncio.sleep(0.5)
    assert await outbox_rows(db) == [] and receiver.received() == []


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database with the default: private addresses refused."""
    application = create_app(settings.model_copy(update={"webhooks_allow_private": False}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_addresses_are_refused_unless_allowed(
    client: httpx.AsyncClient, db: Database, strict_client: httpx.AsyncClient, url: str
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    body = {"url": url, "events": ["booking.claimed"]}
    refused = await strict_client.post(
        f"/api/events/{event['id']}/webhooks", json=body, headers=organizer.headers
    )
    assert refused.status_code == 422, refused.text
    assert "non-public address" in refused.text and refused.json()["detail"][0]["loc"] == [
        "body", "url",
    ]  # fmt: skip
    allowed = await client.post(  # SKYSLOTS_WEBHOOKS_ALLOW_PRIVATE=true (the `client` app)
        f"/api/events/{event['id']}/webhooks", json=body, headers=organizer.headers
    )
    assert allowed.status_code == 201


async def test_an_address_refused_at_delivery_time_is_a_permanent_failure(
    client: httpx.AsyncClient, db: Database, receiver: Receiver, settings: Settings
) -> None:
    organizer, event, _ = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    strict = webhook_sender(db, settings.model_copy(update={"webhooks_allow_private": False}))
    leased = Leased(
        id=0, kind="webhook", target=str(created["id"]), payload={"id": "msg_x", "type": "t"},
        dedupe_key="webhook:x", event_id=event["id"], attempts=1,
    )  # fmt: skip
    with pytest.raises(DeliveryFailed) as failed:
        await strict(leased)
    assert failed.value.permanent and "non-public" in str(failed.value)
    assert receiver.received() == []
    # The lenient sender does deliver it (the receiver is real).
    await webhook_sender(db, settings)(leased)
    assert len(receiver.received()) == 1


async def test_a_deleted_endpoints_rows_die(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, [slot, _] = await one_slot_event(client, db)
    created = await add_webhook(client, organizer, event, receiver.url)
    receiver.answers.append((503, {}, b""))
    await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    [row] = await rows_until(db, tried)
    assert row.status == "pending"
    deleted = await client.delete(f"/api/webhooks/{created['id']}", headers=organizer.headers)
    assert deleted.status_code == 204
    [row] = await outbox_rows(db)
    assert (row.status, row.last_error) == ("dead", "the endpoint was deleted")

    async def endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
        return list(await session.scalars(select(WebhookEndpoint)))

    assert await db.read(endpoints) == []


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
    ],
)
def test_which_addresses_are_refused(address: str, refused: bool) -> None:
    assert address_refused(ipaddress.ip_address(address)) is refused


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = utcnow().replace(microsecond=0)
    later = now + timedelta(seconds=120)

    def answer(value: str) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value} if value else {})

    assert retry_after(answer("30")) == 30.0
    assert retry_after(answer(later.strftime("%a, %d %b %Y %H:%M:%S GMT")), now) == 120.0
    assert retry_after(answer("")) is None and retry_after(answer("soon")) is None


async def test_release_all_tells_every_booker_and_every_endpoint(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer, event, slots = await one_slot_event(client, db)
    await add_webhook(client, organizer, event, receiver.url, events=["booking.released"])
    for number, slot in enumerate(slots):
        body = booking_body(f"BAW{number}", email=f"p{number}@example.com")
        assert (await client.post(f"/api/slots/{slot['id']}/book", json=body)).status_code == 201
    released = await client.post(
        f"/api/events/{event['id']}/bookings/release-all",
        json={"confirm": event["title"]}, headers=organizer.headers,
    )  # fmt: skip
    assert released.json() == {"released": 2}
    posts = await wait_for(receiver, 2)
    assert sorted(p.json()["data"]["booking"]["pilot_callsign"] for p in posts) == ["BAW0", "BAW1"]
    assert {p.json()["data"]["released_by"] for p in posts} == {"organizer"}
    mails = await outbox_rows(db, kind="booking.released")
    assert sorted(row.target for row in mails) == ["p0@example.com", "p1@example.com"]
