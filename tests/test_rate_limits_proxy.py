"""Rate limits behind a real Traefik: two `skyslots serve` processes on PostgreSQL and a private
Redis, Traefik's file-provider configuration in front. Clients connect from their own loopback
addresses (127.0.0.x), so Traefik forwards each one's address; the app, trusting Traefik's
address only, limits that forwarded address, and a client's own X-Forwarded-For changes nothing.
The control: without SKYSLOTS_TRUSTED_PROXIES every client is Traefik, and limited together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from skyslots.migrate import migrate
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.servers import RunningServer, start_server
from tests.traefik_proxy import require_traefik, start_traefik

pytestmark = pytest.mark.postgres
LIMITS = "book_per_address=3/minute,book_per_slot=50/minute"


@dataclass
class Stack:
    proxy: RunningServer
    slots: list[dict[str, Any]]


@asynccontextmanager
async def proxied_stack(
    tmp_path: Path, *, processes: int, trust_proxy: bool
) -> AsyncIterator[Stack]:
    """`processes` servers sharing PostgreSQL and Redis behind Traefik, with an event of 3
    pilot slots."""
    require_traefik()
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    try:
        await asyncio.to_thread(migrate, url)
        env = {"SKYSLOTS_REDIS_URL": redis.url, "SKYSLOTS_RATE_LIMITS": LIMITS}
        if trust_proxy:
            env["SKYSLOTS_TRUSTED_PROXIES"] = "127.0.0.1/32"  # where Traefik connects from
        with ExitStack() as stack:
            servers = [
                stack.enter_context(await asyncio.to_thread(start_server, url, env=env))
                for _ in range(processes)
            ]
            proxy = stack.enter_context(
                await asyncio.to_thread(start_traefik, [s.base_url for s in servers])
            )
            db = Database(make_settings(url, tmp_path))
            try:
                async with httpx.AsyncClient(base_url=proxy.base_url) as http:
                    organizer = await make_account(db, http, email="org@example.com")
                    event = await make_event(http, organizer)
                    slots = await make_slots(http, organizer, event, pilot_slots(3))
            finally:
                await db.dispose()
            yield Stack(proxy=proxy, slots=slots)
    finally:
        redis.stop()
        await drop_postgres_database(url)


@asynccontextmanager
async def client_from(stack: Stack, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections leave from `address` (any 127.0.0.0/8 address is loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=stack.proxy.base_url, transport=transport) as http:
        yield http


async def book(
    http: httpx.AsyncClient, slot: dict[str, Any], n: int, **headers: str
) -> httpx.Response:
    body = booking_body(f"PRX{n:03d}", name=f"Proxy Pilot {n}")
    return await http.post(f"/api/slots/{slot['id']}/book", json=body, headers=headers)


async def test_the_forwarded_client_address_is_the_one_limited(tmp_path: Path) -> None:
    async with proxied_stack(tmp_path, processes=2, trust_proxy=True) as stack:
        first, second, third = stack.slots
        async with client_from(stack, "127.0.0.5") as hammer:
            # Round-robin over both processes: the count is Redis's, not one process's.
            answers = [await book(hammer, first, n) for n in range(6)]
            spoofed = await book(hammer, second, 7, **{"X-Forwarded-For": "198.51.100.23"})
        assert [a.status_code for a in answers] == [201, 409, 409, 429, 429, 429], [
            a.text for a in answers
        ]
        limited = answers[3]
        assert limited.json()["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert spoofed.status_code == 429  # its own X-Forwarded-For is Traefik's to drop

        async with client_from(stack, "127.0.0.6") as neighbour:
            assert (await book(neighbour, third, 8)).status_code == 201
            assert (await book(neighbour, first, 9)).status_code == 409  # taken, not limited


async def test_without_trusted_proxies_every_client_is_the_proxy(tmp_path: Path) -> None:
    async with proxied_stack(tmp_path, processes=1, trust_proxy=False) as stack:
        first, second, *_ = stack.slots
        async with client_from(stack, "127.0.0.5") as hammer:
            assert [(await book(hammer, first, n)).status_code for n in range(3)] == [201, 409, 409]
        async with client_from(stack, "127.0.0.6") as neighbour:
            refused = await book(neighbour, second, 4)
        assert refused.status_code == 429, refused.text  # counted as Traefik's address
