"""The polling fallback GET /api/events/{id}/state and the roster change log behind it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots import roster
from skyslots.db import Database
from skyslots.models import Event, RosterChange
from skyslots.realtime.messages import change_message, encode
from skyslots.roster import PUBLISHER_KEY, roster_changed
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots


async def setup_event(
    client: httpx.AsyncClient, db: Database, slots: int = 3, **event: Any
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(db, client, email="org@example.com")
    created = await make_event(client, organizer, **event)
    return organizer, created, await make_slots(client, organizer, created, pilot_slots(slots))


async def state(client: httpx.AsyncClient, event_id: int, **params: Any) -> httpx.Response:
    headers = {"If-None-Match": params.pop("etag")} if "etag" in params else {}
    return await client.get(f"/api/events/{event_id}/state", params=params, headers=headers)


async def test_snapshot_deltas_and_etags(client: httpx.AsyncClient, db: Database) -> None:
    _, event, slots = await setup_event(client, db)
    first = await state(client, event["id"])
    assert first.status_code == 200
    snapshot = first.json()
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert snapshot["type"] == "snapshot" and snapshot["version"] == detail["version"]
    assert snapshot["slots"] == detail["slots"]
    version = snapshot["version"]
    etag = first.headers["ETag"]
    assert etag == f'"{event["id"]}-{version}"'

    unchanged = await state(client, event["id"], since=version, etag=etag)
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == etag
    assert (await state(client, event["id"], etag=f'W/{etag}, "other"')).status_code == 304
    empty = await state(client, event["id"], since=version)
    assert empty.json() == {
        "type": "changes",
        "event_id": event["id"],
        "version": version,
        "changes": [],
    }

    for index, callsign in enumerate(("BAW1", "BAW2")):
        booked = await client.post(
            f"/api/slots/{slots[index]['id']}/book", json=booking_body(callsign)
        )
        assert booked.status_code == 201
    changed = await state(client, event["id"], since=version, etag=etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] == f'"{event["id"]}-{version + 2}"'
    body = changed.json()
    assert body["type"] == "changes" and body["version"] == version + 2
    assert [c["version"] for c in body["changes"]] == [version + 1, version + 2]
    assert [c["type"] for c in body["changes"]] == ["slot.updated", "slot.updated"]
    now = (await client.get(f"/api/events/{event['id']}")).json()
    assert body["changes"][1]["slot"] == now["slots"][1]

    one = (await state(client, event["id"], since=version + 1)).json()
    assert [c["version"] for c in one["changes"]] == [version + 2]
    future = (await state(client, event["id"], since=version + 50)).json()
    assert future["type"] == "snapshot" and future["version"] == version + 2


async def test_old_since_falls_back_to_a_snapshot_and_the_log_stays_bounded(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(roster, "KEEP_CHANGES", 4)
    monkeypatch.setattr(roster, "PRUNE_EVERY", 3)
    organizer, event, slots = await setup_event(client, db, slots=1)
    for step in range(12):
        response = await client.patch(
            f"/api/slots/{slots[0]['id']}", json={"notes": f"n{step}"}, headers=organizer.headers
        )
        assert response.status_code == 200
    version = (await client.get(f"/api/events/{event['id']}")).json()["version"]

    async def kept(session: AsyncSession) -> int:
        query = select(func.count()).where(RosterChange.event_id == event["id"])
        return await session.scalar(query.select_from(RosterChange)) or 0

    assert await db.read(kept) <= 4 + 3
    recent = (await state(client, event["id"], since=version - 3)).json()
    assert recent["type"] == "changes" and len(recent["changes"]) == 3
    old = (await state(client, event["id"], since=0)).json()
    assert old["type"] == "snapshot" and old["slots"][0]["notes"] == "n11"


async def test_unknown_and_draft_events(client: httpx.AsyncClient, db: Database) -> None:
    organizer, draft, _ = await setup_event(client, db, slots=1, status="draft")
    assert (await state(client, 999_999)).status_code == 404
    assert (await state(client, draft["id"])).status_code == 404
    mine = await client.get(f"/api/events/{draft['id']}/state", headers=organizer.headers)
    assert mine.status_code == 200 and mine.json()["type"] == "snapshot"
    assert (await state(client, draft["id"], since=-1)).status_code == 422


class Recorder:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[tuple[int, str, int]] = []

    async def publish(self, event_id: int, message: str) -> None:
        async def committed_version(session: AsyncSession) -> int:
            return await session.scalar(select(Event.version).where(Event.id == event_id)) or 0

        # Another connection already sees the change: publishing happens after the commit.
        self.seen.append((event_id, message, await self.db.read(committed_version)))


async def test_published_after_commit_and_never_after_a_rollback(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db, slots=1)
    recorder = Recorder(db)
    db.share_with_sessions(**{PUBLISHER_KEY: recorder})

    async def change(session: AsyncSession, *, fail: bool) -> int:
        version = await roster_changed(
            session, event_id=event["id"], change="slot.updated", data={"slot_id": slots[0]["id"]}
        )
        if fail:
            raise RuntimeError("the unit of work fails after the change")
        return version

    with pytest.raises(RuntimeError):
        await db.transaction(change, fail=True)
    assert recorder.seen == []
    version = await db.transaction(change, fail=False)
    [(event_id, message, committed)] = recorder.seen
    assert event_id == event["id"] and committed == version
    assert f'"version":{version}' in message

    async def logged(session: AsyncSession) -> list[int]:
        rows = await session.execute(
            select(RosterChange.version).where(RosterChange.event_id == event["id"])
        )
        return list(rows.scalars())

    assert version in await db.read(logged)
    assert version - 1 in await db.read(logged)  # the slots.added before it; none for the failure


async def test_logged_event_updates_carry_their_version_twice(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer, event, _ = await setup_event(client, db, slots=1)
    before = (await state(client, event["id"])).json()["version"]
    patched = await client.patch(
        f"/api/events/{event['id']}", json={"title": "Renamed"}, headers=organizer.headers
    )
    assert patched.status_code == 200 and patched.json()["version"] == before + 1
    [change] = (await state(client, event["id"], since=before)).json()["changes"]
    assert change["type"] == "event.updated" and change["version"] == before + 1
    assert change["event"]["version"] == before + 1 and change["event"]["title"] == "Renamed"


async def test_a_claims_message_is_the_slot_as_committed(
    client: httpx.AsyncClient, db: Database
) -> None:
    """The claim builds its message from what it has in hand; it must equal a fresh read."""
    organizer, event, slots = await setup_event(client, db, slots=2)
    recorder = Recorder(db)
    db.share_with_sessions(**{PUBLISHER_KEY: recorder})
    booked = await client.post(f"/api/slots/{slots[1]['id']}/book", json=booking_body("baw9"))
    assert booked.status_code == 201, booked.text
    [(_, published, version)] = recorder.seen

    async def expected(session: AsyncSession) -> dict[str, Any]:
        data = {"slot_id": slots[1]["id"]}
        message = await change_message(
            session, event_id=event["id"], change="booking.claimed", data=data
        )
        return {**message, "version": version}

    fresh = await db.transaction(expected)
    assert published == encode(fresh)  # byte for byte, key order included
    assert fresh["slot"]["booking"]["id"] == booked.json()["id"]
    [logged] = (await state(client, event["id"], since=version - 1)).json()["changes"]
    assert logged == fresh
    [audit, *_] = (
        await client.get(f"/api/events/{event['id']}/audit", headers=organizer.headers)
    ).json()
    assert audit["payload"] == {
        "booking_id": booked.json()["id"],
        "slot_id": slots[1]["id"],
        "label": slots[1]["position_name"],
        "callsign": "BAW9",
    }


async def test_a_releases_message_is_the_slot_as_committed(
    client: httpx.AsyncClient, db: Database
) -> None:
    _, event, slots = await setup_event(client, db, slots=1)
    booked = await client.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("baw9"))
    recorder = Recorder(db)
    db.share_with_sessions(**{PUBLISHER_KEY: recorder})
    released = await client.post(
        f"/api/bookings/{booked.json()['id']}/release",
        headers={"X-Manage-Token": booked.json()["manage_token"]},
    )
    assert released.status_code == 200, released.text
    [(_, published, version)] = recorder.seen

    async def expected(session: AsyncSession) -> dict[str, Any]:
        data = {"slot_id": slots[0]["id"]}
        message = await change_message(
            session, event_id=event["id"], change="booking.released", data=data
        )
        return {**message, "version": version}

    fresh = await db.transaction(expected)
    assert published == encode(fresh) and fresh["slot"]["booking"] is None
    [logged] = (await state(client, event["id"], since=version - 1)).json()["changes"]
    assert logged == fresh
