"""Realtime across real server processes on one PostgreSQL and a private Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.service import user_create
from skyslots.db import Database
from skyslots.migrate import migrate
from skyslots.models import Role
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import PASSWORD, Account, booking_body, event_body, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.realtime_support import Message, of_type, recv_json, recv_until
from tests.realtime_support import ws_connect as connect
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@dataclass
class Cluster:
    redis: PrivateRedis
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    servers: list[RunningServer]
    organizer: Account
    database_url: str
    env: dict[str, str]

    def ws(self, server: int, event_id: int) -> str:
        base = self.servers[server].base_url.replace("http://", "ws://")
        return f"{base}/ws/events/{event_id}"


@pytest.fixture(scope="module")
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def cluster(
    private_redis: PrivateRedis, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    url = await create_postgres_database()
    await asyncio.to_thread(migrate, url)
    env = {
        "SKYSLOTS_REDIS_URL": private_redis.url,
        "SKYSLOTS_REDIS_CHANNEL_PREFIX": f"test-{uuid.uuid4().hex[:8]}:",
        "SKYSLOTS_WS_HEARTBEAT_SECONDS": "2",
        "SKYSLOTS_WS_GAP_TIMEOUT_SECONDS": "1.0",
    }
    servers = list(
        await asyncio.gather(*(asyncio.to_thread(start_server, url, env=env) for _ in range(2)))
    )
    database = Database(make_settings(url, Path(tmp_path_factory.mktemp("cluster"))))
    email = "org@example.com"
    user = await database.transaction(
        user_create,
        data=UserCreate(email=email, name="Org", role=Role.ORGANIZER, password=PASSWORD),
    )
    await database.dispose()
    a = httpx.AsyncClient(base_url=servers[0].base_url, timeout=10)
    b = httpx.AsyncClient(base_url=servers[1].base_url, timeout=10)
    token = await a.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    organizer = Account(user.id, email, {"Authorization": f"Bearer {token.json()['access_token']}"})
    try:
        yield Cluster(private_redis, a, b, servers, organizer, url, env)
    finally:
        await a.aclose()
        await b.aclose()
        for server in servers:
            await asyncio.to_thread(server.stop)
        await drop_postgres_database(url)


async def new_event(cluster: Cluster, slots: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    headers = cluster.organizer.headers
    event = (await cluster.a.post("/api/events", json=event_body(), headers=headers)).json()
    made = await cluster.b.post(
        f"/api/events/{event['id']}/slots/bulk", json=pilot_slots(slots), headers=headers
    )
    assert made.status_code == 201, made.text
    return event, made.json()


async def version_of(cluster: Cluster, event_id: int) -> int:
    return (await cluster.a.get(f"/api/events/{event_id}")).json()["version"]


def not_ping(message: Message) -> bool:
    return message["type"] != "ping"


async def test_a_booking_on_one_process_reaches_clients_of_the_other_within_a_second(
    cluster: Cluster,
) -> None:
    event, slots = await new_event(cluster, 2)
    async with connect(cluster.ws(1, event["id"])) as on_b:
        snapshot = await recv_json(on_b)
        assert snapshot["type"] == "snapshot"
        booked = await cluster.a.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body())
        assert booked.status_code == 201
        answered = time.monotonic()
        update = await recv_until(on_b, of_type("slot.updated"), within=1.0)
        assert time.monotonic() - answered < 1.0
        assert (
            update["version"] == snapshot["version"] + 1 == await version_of(cluster, event["id"])
        )
        assert update["slot"]["booking"]["pilot_callsign"] == "BAW123"


async def collect(ws: ClientConnection, last: int, within: float = 10) -> list[Message]:
    """Every non-ping message until one at version `last` arrives."""
    seen: list[Message] = []
    while not seen or seen[-1]["version"] < last:
        seen.append(await recv_until(ws, not_ping, within=within))
    return seen


def assert_contiguous(stream: list[Message], start: int) -> int:
    """Each change follows the previous version (or a snapshot); returns how many snapshots."""
    version, snapshots = start, 0
    for message in stream:
        if message["type"] == "snapshot":
            snapshots += 1
        else:
            assert message["version"] == version + 1, [m["version"] for m in stream]
        version = message["version"]
    return snapshots


async def test_versions_stay_contiguous_under_concurrent_bookings_on_both_processes(
    cluster: Cluster,
) -> None:
    count = 40
    event, slots = await new_event(cluster, count)
    sockets = [await connect(cluster.ws(i % 2, event["id"])).__aenter__() for i in range(4)]
    try:
        start = [(await recv_json(ws))["version"] for ws in sockets]
        assert len(set(start)) == 1
        clients = (cluster.a, cluster.b)
        responses = await asyncio.gather(
            *(
                clients[i % 2].post(f"/api/slots/{slot['id']}/book", json=booking_body(f"BAW{i}"))
                for i, slot in enumerate(slots)
            )
        )
        assert [r.status_code for r in responses] == [201] * count
        last = start[0] + count
        assert await version_of(cluster, event["id"]) == last
        streams = await asyncio.gather(*(collect(ws, last) for ws in sockets))
        resyncs = [assert_contiguous(stream, start[0]) for stream in streams]
        assert sum(resyncs) <= 1, f"snapshots sent to close a gap: {resyncs}"
        for stream in streams:
            if not any(m["type"] == "snapshot" for m in stream):
                booked = {m["slot_id"] for m in stream}
                assert booked == {slot["id"] for slot in slots}
        changes = (
            await cluster.b.get(f"/api/events/{event['id']}/state", params={"since": start[0]})
        ).json()
        assert [c["version"] for c in changes["changes"]] == list(range(start[0] + 1, last + 1))
    finally:
        for ws in sockets:
            await ws.close()


async def test_bookings_survive_a_redis_outage_and_clients_resync_after_it(
    cluster: Cluster,
) -> None:
    event, slots = await new_event(cluster, 6)
    async with (
        connect(cluster.ws(0, event["id"])) as on_a,
        connect(cluster.ws(1, event["id"])) as on_b,
    ):
        start = (await recv_json(on_a))["version"]
        await recv_json(on_b)
        cluster.redis.stop()
        try:
            await asyncio.sleep(1.0)  # long enough for both subscribers to notice and back off
            for i, slot in enumerate(slots[:4]):
                began = time.monotonic()
                client = (cluster.a, cluster.b)[i % 2]
                booked = await client.post(
                    f"/api/slots/{slot['id']}/book", json=booking_body(f"OUT{i}")
                )
                assert booked.status_code == 201, booked.text
                assert time.monotonic() - began < 1.0
        finally:
            await asyncio.to_thread(cluster.redis.start)
        current = await version_of(cluster, event["id"])
        assert current == start + 4
        for ws in (on_a, on_b):
            snapshot = await recv_until(ws, of_type("snapshot"), within=10)
            assert snapshot["version"] >= current
            held = [s["booking"]["pilot_callsign"] for s in snapshot["slots"] if s["booking"]]
            assert held == ["OUT0", "OUT1", "OUT2", "OUT3"]
        # Live again, across processes.
        booked = await cluster.a.post(
            f"/api/slots/{slots[5]['id']}/book", json=booking_body("BACK")
        )
        assert booked.status_code == 201
        # The change itself, or a snapshot that already holds it (a resync may overtake it).
        for ws in (on_a, on_b):
            update = await recv_until(ws, lambda m: not_ping(m) and m["version"] > current)
            assert update["version"] == current + 1
            slot = (
                update["slot"]
                if update["type"] == "slot.updated"
                else next(s for s in update["slots"] if s["id"] == slots[5]["id"])
            )
            assert slot["booking"]["pilot_callsign"] == "BACK"


async def test_serve_with_several_workers_shares_every_change(cluster: Cluster) -> None:
    event, slots = await new_event(cluster, 1)
    server = await asyncio.to_thread(start_server, cluster.database_url, env=cluster.env, workers=2)
    try:
        url = f"{server.base_url.replace('http://', 'ws://')}/ws/events/{event['id']}"
        sockets = [await connect(url).__aenter__() for _ in range(6)]  # over both workers
        try:
            for ws in sockets:
                await recv_json(ws)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
                booked = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body())
            assert booked.status_code == 201
            for ws in sockets:  # one change, no later one to reveal a gap: it must arrive itself
                update = await recv_until(ws, of_type("slot.updated"), within=1.0)
                assert update["slot_id"] == slots[0]["id"]
        finally:
            for ws in sockets:
                await ws.close()
    finally:
        await asyncio.to_thread(server.stop)
