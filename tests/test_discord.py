"""Discord: the channel webhook setting (a secret), freed-slot messages within a day of the event,
summaries before it, Discord's 429 honoured — posted to a real HTTP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.discord.triggers import summaries_due
from skyslots.jobs.work import deliver_outbox
from skyslots.models import OutboxMessage
from skyslots.outbox.senders import senders
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, eventually, make_account, make_event, make_slots
from tests.http_receiver import Receiver, http_receiver

HOOK = "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz_-12"
PATH = "/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz_-12"
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def settings(database_url: str, tmp_path: Path, receiver: Receiver) -> Settings:
    return make_settings(database_url, tmp_path, discord_api_url=receiver.base_url)


async def soon_event(client: httpx.AsyncClient, organizer: Account, **extra: Any) -> dict:
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)
    return await make_event(
        client, organizer, start_datetime=start.isoformat(),
        end_datetime=(start + timedelta(hours=4)).isoformat(), **extra,
    )  # fmt: skip


async def outbox(db: Database) -> list[OutboxMessage]:
    async def read(session: Any) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return await db.read(read)


async def test_the_webhook_is_validated_and_never_shown_publicly(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    path = f"/api/events/{event['id']}"
    for bad in ("https://evil.example/api/webhooks/1/x", "http://discord.com" + PATH, "discord"):
        refused = await client.patch(
            path, json={"discord_webhook_url": bad}, headers=organizer.headers
        )
        assert refused.status_code == 422, bad
    saved = await client.patch(path, json={"discord_webhook_url": HOOK}, headers=organizer.headers)
    assert saved.status_code == 200, saved.text
    for view in (saved.text, (await client.get(path)).text, (await client.get("/api/events")).text):
        assert "abcdefghijklmnopqrstuvwxyz" not in view
    audit = await client.get(f"{path}/audit", headers=organizer.headers)
    assert "abcdefghijklmnopqrstuvwxyz" not in audit.text
    cleared = await client.patch(path, json={"discord_webhook_url": ""}, headers=organizer.headers)
    assert cleared.status_code == 200


async def test_a_slot_freed_within_a_day_is_posted_once_without_mentions(
    client: httpx.AsyncClient, db: Database, receiver: Receiver
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await soon_event(client, organizer, discord_webhook_url=HOOK)
    tower, ground = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR"}, {"position_name": "EGLL_GND"}]
    )
    booked = (await client.post(f"/api/slots/{tower['id']}/book", json=booking_body("BAW1"))).json()
    released = await client.post(
        f"/api/bookings/{booked['id']}/release", headers={"X-Manage-Token": booked["manage_token"]}
    )
    assert released.status_code == 200
    [post] = await asyncio.to_thread(receiver.wait_for, 1)
    assert post.path == PATH
    assert post.json() == {
        "content": f"EGLL\\_TWR is free again: http://127.0.0.1:8000/events/{event['id']}",
        "allowed_mentions": {"parse": []},
    }
    # A freed slot someone is waiting for goes to them: nothing to announce.
    taken = (await client.post(f"/api/slots/{ground['id']}/book", json=booking_body("BAW2"))).json()
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "W", "pilot_callsign": "DLH1", "slot_id": ground["id"]},
    )
    assert joined.status_code == 201
    await client.post(
        f"/api/bookings/{taken['id']}/release", headers={"X-Manage-Token": taken["manage_token"]}
    )
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 1
    assert [(r.kind, r.status) for r in await outbox(db)] == [("discord.slot_free", "sent")]


async def test_far_events_and_events_without_a_webhook_post_nothing(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    far = await make_event(client, organizer, discord_webhook_url=HOOK)  # a week away
    near = await soon_event(client, organizer)  # no webhook
    for event in (far, near):
        [slot] = await make_slots(client, organizer, event, [{"position_name": "EGLL_TWR"}])
        booked = (
            await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW9"))
        ).json()
        await client.post(
            f"/api/bookings/{booked['id']}/release",
            headers={"X-Manage-Token": booked["manage_token"]},
        )
    assert await outbox(db) == []


async def test_summaries_list_who_holds_what_and_429_is_honoured(
    client: httpx.AsyncClient, db: Database, receiver: Receiver, settings: Settings
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await soon_event(client, organizer, discord_webhook_url=HOOK, title="Rush *live*")
    tower, _ = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR"}, {"position_name": "EGLL_GND"}]
    )
    booked = await client.post(
        f"/api/slots/{tower['id']}/book", json=booking_body("BAW1", name="**Jane** @everyone")
    )
    assert booked.status_code == 201
    receiver.answers.append((429, {}, b'{"retry_after": 90.5, "global": false}'))
    start = datetime.fromisoformat(event["start_datetime"])
    before = utcnow()  # the 429 comes after this
    assert await db.transaction(summaries_due, now=start - timedelta(minutes=60)) == 1
    assert await db.transaction(summaries_due, now=start - timedelta(minutes=59)) == 0  # once
    await asyncio.to_thread(receiver.wait_for, 1)
    # The outcome is written once the answer is in.
    [row] = await eventually(lambda: outbox(db), lambda found: bool(found[0].last_error))
    assert (row.status, row.last_error) == ("pending", "Discord answered 429")
    assert row.next_attempt_at >= before + timedelta(seconds=90)  # retry_after honoured
    async with db.engine.begin() as connection:
        await connection.execute(update(_outbox).values(next_attempt_at=utcnow()))
    await deliver_outbox(db, settings, senders(db, settings))
    first, second = receiver.wait_for(2)
    assert first.json() == second.json()
    content = second.json()["content"]
    assert content.startswith("**Rush \\*live\\*** starts in 1 h (")
    assert "EGLL\\_TWR: BAW1 (\\*\\*Jane\\*\\* @everyone)" in content
    assert "1 slot still free" in content
    assert second.json()["allowed_mentions"] == {"parse": []}  # @everyone pings nobody
    [embed] = second.json()["embeds"]  # the roster image (its stable, redirecting address)
    image = embed["image"]["url"]
    assert image.startswith(f"{settings.public_url}/api/events/{event['id']}/roster.png?v=")
    picture = await client.get(image.removeprefix(settings.public_url), follow_redirects=True)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
