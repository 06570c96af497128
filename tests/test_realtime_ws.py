"""WebSocket /ws/events/{id} in one process (the in-process hub), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from skyslots.realtime.hub import LocalHub
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_support import LiveApp, live_app, of_type, recv_json, recv_until, wait_until
from tests.realtime_support import ws_connect as connect


@pytest.fixture
async def live(database_url: str, tmp_path: Path) -> AsyncIterator[LiveApp]:
    settings = make_settings(
        database_url,
        tmp_path,
        ws_heartbeat_seconds=0.5,
        ws_queue_size=16,
        ws_gap_timeout_seconds=0.2,
    )
    async with live_app(settings) as running:
        yield running


@pytest.fixture
async def http(live: LiveApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
        yield client


async def roster(
    live: LiveApp, http: httpx.AsyncClient, slots: int = 3, **event: Any
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(live.app.state.database, http, email="org@example.com")
    created = await make_event(http, organizer, **event)
    made = await make_slots(http, organizer, created, pilot_slots(slots)) if slots else []
    return organizer, created, made


def hub(live: LiveApp) -> LocalHub:
    return live.app.state.realtime.hub.local


async def test_snapshot_then_each_change_with_its_version(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    organizer, event, slots = await roster(live, http)
    async with connect(live.events_ws(event["id"])) as ws:
        snapshot = await recv_json(ws)
        detail = (await http.get(f"/api/events/{event['id']}")).json()
        assert snapshot["type"] == "snapshot" and snapshot["event_id"] == event["id"]
        assert snapshot["version"] == detail["version"]
        assert snapshot["slots"] == detail["slots"]  # the same public slot state as the REST API
        assert snapshot["event"] == {k: v for k, v in detail.items() if k != "slots"}
        version = snapshot["version"]

        claimed = await http.post(f"/api/slots/{slots[1]['id']}/book", json=booking_body("BAW1"))
        assert claimed.status_code == 201
        update = await recv_until(ws, of_type("slot.updated"))
        after = (await http.get(f"/api/events/{event['id']}")).json()
        assert update["version"] == version + 1 == after["version"]
        assert update["slot_id"] == slots[1]["id"] and update["change"] == "booking.claimed"
        assert update["slot"] == after["slots"][1]
        assert update["slot"]["booking"]["pilot_callsign"] == "BAW1"
        assert "email" not in update["slot"]["booking"]

        released = await http.post(
            f"/api/bookings/{claimed.json()['id']}/release",
            headers={"X-Manage-Token": claimed.json()["manage_token"]},
        )
        assert released.status_code == 200
        update = await recv_until(ws, of_type("slot.updated"))
        assert update["version"] == version + 2 and update["slot"]["booking"] is None

        new = await http.post(
            f"/api/events/{event['id']}/slots",
            json={"position_name": "EGLL_TWR"},
            headers=organizer.headers,
        )
        added = await recv_until(ws, of_type("slots.added"))
        assert added["version"] == version + 3
        assert [s["id"] for s in added["slots"]] == [new.json()["id"]]

        await http.patch(
            f"/api/slots/{slots[0]['id']}", json={"is_locked": True}, headers=organizer.headers
        )
        locked = await recv_until(ws, of_type("slot.updated"))
        assert locked["version"] == version + 4 and locked["slot"]["is_locked"] is True

        await http.delete(f"/api/slots/{slots[2]['id']}", headers=organizer.headers)
        removed = await recv_until(ws, of_type("slot.removed"))
        assert removed == {
            "type": "slot.removed",
            "event_id": event["id"],
            "version": version + 5,
            "change": "slot.removed",
            "slot_id": slots[2]["id"],
        }

        await http.patch(
            f"/api/events/{event['id']}", json={"title": "Renamed"}, headers=organizer.headers
        )
        updated = await recv_until(ws, of_type("event.updated"))
        assert updated["version"] == version + 6 and updated["event"]["title"] == "Renamed"
        assert updated["event"]["version"] == version + 6

        await http.delete(f"/api/events/{event['id']}", headers=organizer.headers)
        deleted = await recv_until(ws, of_type("event.deleted"))
        assert deleted == {"type": "event.deleted", "event_id": event["id"], "version": version + 7}
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(ws, of_type("never"))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    await wait_until(lambda: hub(live).subscriber_count() == 0)


async def test_unknown_and_draft_events_close_with_4404(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    _, draft, _ = await roster(live, http, slots=0, status="draft")
    for event_id in (draft["id"], 999_999):
        async with connect(live.events_ws(event_id)) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    await wait_until(lambda: hub(live).subscriber_count() == 0)


async def test_unpublishing_closes_public_sockets(live: LiveApp, http: httpx.AsyncClient) -> None:
    organizer, event, _ = await roster(live, http, slots=1)
    async with connect(live.events_ws(event["id"])) as ws:
        await recv_json(ws)
        await http.patch(
            f"/api/events/{event['id']}", json={"status": "draft"}, headers=organizer.headers
        )
        message = await recv_until(ws, of_type("event.updated"))
        assert message["event"]["status"] == "draft"
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(ws, of_type("never"))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_refused_claim_publishes_nothing(live: LiveApp, http: httpx.AsyncClient) -> None:
    _, event, slots = await roster(live, http, slots=1)
    first = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"))
    assert first.status_code == 201
    async with connect(live.events_ws(event["id"])) as ws:
        version = (await recv_json(ws))["version"]
        refused = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW2"))
        assert refused.status_code == 409
        with pytest.raises(TimeoutError):  # a rolled-back transaction publishes nothing
            await recv_until(ws, lambda m: m["type"] != "ping", within=0.4)
        assert (await http.get(f"/api/events/{event['id']}")).json()["version"] == version


async def test_client_messages_are_answered_or_refused_cleanly(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    _, event, slots = await roster(live, http, slots=1)
    async with connect(live.events_ws(event["id"])) as ws:
        snapshot = await recv_json(ws)
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv_until(ws, lambda m: m["type"] != "ping") == {"type": "pong"}
        for bad in ("not json", "[1, 2]", '{"type": "claim"}', "{}", b"\x00\x01"):
            await ws.send(bad)
            error = await recv_until(ws, lambda m: m["type"] != "ping")
            assert error["type"] == "error" and error["code"] == "bad_message"
        await ws.send(json.dumps({"type": "resync"}))
        again = await recv_until(ws, lambda m: m["type"] != "ping")
        assert again == snapshot
        # Still live after all that.
        booked = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"))
        assert booked.status_code == 201
        update = await recv_until(ws, of_type("slot.updated"))
        assert update["version"] == snapshot["version"] + 1

    async with connect(live.events_ws(event["id"])) as ws:
        await recv_json(ws)
        await ws.send("x" * 10_000)
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(ws, of_type("never"))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_abrupt_disconnects_free_the_subscription(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    _, event, slots = await roster(live, http, slots=2)
    sockets = [await connect(live.events_ws(event["id"])) for _ in range(3)]
    for ws in sockets:
        await recv_json(ws)
    await wait_until(lambda: hub(live).subscriber_count(event["id"]) == 3)
    for ws in sockets[:2]:
        ws.transport.abort()  # no close frame: the TCP connection just drops
    await wait_until(lambda: hub(live).subscriber_count(event["id"]) == 1)
    booked = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"))
    assert booked.status_code == 201
    assert (await recv_until(sockets[2], of_type("slot.updated")))["slot_id"] == slots[0]["id"]
    await sockets[2].close()
    await wait_until(lambda: hub(live).subscriber_count() == 0)


async def test_a_stuck_client_is_dropped_without_delaying_others(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    _, event, _ = await roster(live, http, slots=0)
    realtime = live.app.state.realtime
    async with (
        connect(live.events_ws(event["id"]), max_queue=1) as stuck,
        connect(live.events_ws(event["id"])) as reader,
    ):
        await recv_json(stuck)
        version = (await recv_json(reader))["version"]
        padding = "x" * 64_000
        for step in range(1, 401):  # ~25 MB: more than the socket buffers hold
            big = {"type": "test", "event_id": event["id"], "version": version + step, "p": padding}
            await realtime.hub.publish(event["id"], json.dumps(big))
            message = await recv_until(reader, lambda m: m["type"] != "ping")
            assert message["version"] == version + step
            if hub(live).subscriber_count(event["id"]) == 1:
                break
        assert hub(live).subscriber_count(event["id"]) == 1, "the stuck client was not dropped"


async def test_heartbeats_and_dead_clients_are_closed(
    live: LiveApp, http: httpx.AsyncClient
) -> None:
    _, event, _ = await roster(live, http, slots=0)
    async with connect(live.events_ws(event["id"])) as ws:
        await recv_json(ws)
        assert await recv_json(ws, within=2) == {"type": "ping"}

    # A client that completes the handshake and then never answers the protocol pings.
    port = int(live.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /ws/events/{event['id']} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    assert b" 101 " in await asyncio.wait_for(reader.readline(), 2)
    await wait_until(lambda: hub(live).subscriber_count(event["id"]) == 1)
    await wait_until(lambda: hub(live).subscriber_count(event["id"]) == 0, within=4)
    writer.close()
