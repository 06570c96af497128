"""Rate limits on booking writes and sign-in: one client hammering one slot is limited, a rush of
distinct clients is not; counted in Redis across processes; X-Forwarded-For only from trusted
proxies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.migrate import migrate
from skyslots.ratelimit.limiter import RateLimiter
from skyslots.ratelimit.policy import DEFAULT_LIMITS, rate_limits
from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    empty_tables,
    make_settings,
)
from tests.helpers import PASSWORD, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.servers import start_server


def test_the_setting_overrides_defaults_by_name_or_turns_them_off() -> None:
    chosen = rate_limits("book_per_slot=5/10seconds, signin=10/minute")
    assert chosen is not None and set(chosen) == set(DEFAULT_LIMITS)
    assert (chosen["book_per_slot"].amount, chosen["book_per_slot"].get_expiry()) == (5, 10)
    assert rate_limits("off") is None and rate_limits("") is not None


@pytest.mark.parametrize(
    ("setting", "says"),
    [("book_per_minute=5/minute", "book_per_address"), ("signin=ten", "notation"),
     ("signin", "name=limit")],
)  # fmt: skip
def test_a_bad_setting_is_refused_at_start_with_a_reason(setting: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(rate_limits=setting, secret_key="x" * 32)


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    Settings(trusted_proxies="127.0.0.1/32, 172.18.0.0/16,::1", secret_key="x" * 32)
    with pytest.raises(ValidationError, match="traefik"):
        Settings(trusted_proxies="traefik", secret_key="x" * 32)


@pytest.fixture
async def limited_app(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = make_settings(
        database_url, tmp_path, rate_limits="book_per_slot=3/minute,book_per_address=6/minute,"
        "signin=3/minute", trusted_proxies="10.0.0.0/8",
    )  # fmt: skip
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        yield application


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


async def test_one_client_hammering_one_slot_is_limited_with_retry_after(
    limited_app: FastAPI,
) -> None:
    async with client_at(limited_app, "192.0.2.10") as http:
        organizer = await make_account(limited_app.state.database, http, email="org@example.com")
        event = await make_event(http, organizer)
        first, second = await make_slots(http, organizer, event, pilot_slots(2))
        tries = [await http.post(f"/api/slots/{first['id']}/hold") for _ in range(4)]
        assert [t.status_code for t in tries] == [201, 409, 409, 429]  # own hold, then limited
        refused = tries[-1]
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "try again in" in refused.json()["detail"]
        # Another slot is another count, until the address's own limit (6) is reached.
        other = [
            await http.post(f"/api/slots/{second['id']}/book", json=booking_body(f"BAW{n}"))
            for n in range(3)
        ]
        assert [o.status_code for o in other] == [201, 409, 429]  # 4+2 of 6, then the 7th


async def test_a_rush_of_distinct_clients_is_never_limited(limited_app: FastAPI) -> None:
    db = limited_app.state.database
    async with client_at(limited_app, "192.0.2.1") as http:
        organizer = await make_account(db, http, email="org@example.com")
        event = await make_event(http, organizer)
        slots = await make_slots(http, organizer, event, pilot_slots(40))

    async def claim(n: int, slot: dict[str, Any]) -> int:
        async with client_at(limited_app, f"198.51.100.{n + 1}") as http:
            held = await http.post(f"/api/slots/{slot['id']}/hold")
            booked = await http.post(
                f"/api/slots/{slot['id']}/book",
                json=booking_body(f"DLH{n}", hold_token=held.json()["hold_token"]),
            )
            return booked.status_code

    assert await asyncio.gather(*(claim(n, s) for n, s in enumerate(slots))) == [201] * 40


async def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(
    limited_app: FastAPI,
) -> None:
    db = limited_app.state.database
    async with client_at(limited_app, "192.0.2.1") as http:
        organizer = await make_account(db, http, email="org@example.com")
        event = await make_event(http, organizer)
        [slot] = await make_slots(http, organizer, event, pilot_slots(1))
    url = f"/api/slots/{slot['id']}/hold"
    async with client_at(limited_app, "10.1.2.3") as proxy:  # trusted: its clients are apart
        for n in range(5):
            answer = await proxy.post(url, headers={"X-Forwarded-For": f"203.0.113.{n}"})
            assert answer.status_code != 429, answer.text
    async with client_at(limited_app, "192.0.2.77") as spoofer:  # untrusted: the header is ignored
        answers = [
            await spoofer.post(url, headers={"X-Forwarded-For": f"203.0.113.{50 + n}"})
            for n in range(4)
        ]
        assert [a.status_code for a in answers][-1] == 429


async def test_sign_in_is_limited_per_account_even_with_the_right_password(
    limited_app: FastAPI,
) -> None:
    db = limited_app.state.database
    async with client_at(limited_app, "192.0.2.5") as http:
        await make_account(db, http, email="org@example.com")  # one attempt
        for _ in range(2):
            wrong = await http.post(
                "/api/auth/token", data={"username": "org@example.com", "password": "nope"}
            )
            assert wrong.status_code == 401
        right = await http.post(
            "/api/auth/token", data={"username": "ORG@example.com", "password": PASSWORD}
        )
        assert right.status_code == 429 and right.json()["code"] == "rate_limited"
        page = await http.post(
            "/login", data={"email": "org@example.com", "password": PASSWORD, "next": "/"},
            headers={"Origin": "http://testserver"},
        )  # fmt: skip
        assert page.status_code in (403, 429)  # 403: the form's CSRF check comes first
    async with client_at(limited_app, "192.0.2.6") as other:  # another account is unaffected
        await make_account(db, other, email="two@example.com")


async def test_a_limiter_whose_redis_is_down_lets_requests_through(tmp_path: Path) -> None:
    redis = PrivateRedis()
    redis.start()
    url = redis.url
    redis.stop()
    settings = Settings(secret_key="x" * 32, redis_url=url, rate_limits="signin=1/minute",
                        data_dir=tmp_path)  # fmt: skip
    limiter = RateLimiter.from_settings(settings)
    for _ in range(3):
        await limiter.hit("signin", "someone@example.com")  # no RateLimited, no error


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_server_processes_count_together_in_redis(tmp_path: Path) -> None:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    try:
        await asyncio.to_thread(migrate, url)
        env = {"SKYSLOTS_REDIS_URL": redis.url, "SKYSLOTS_RATE_LIMITS": "book_per_slot=4/minute"}
        server = await asyncio.to_thread(start_server, url, env=env, workers=2)
        try:
            from skyslots.db import Database

            db = Database(make_settings(url, tmp_path))
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                organizer = await make_account(db, http, email="org@example.com")
                event = await make_event(http, organizer)
                [slot] = await make_slots(http, organizer, event, pilot_slots(1))
            await db.dispose()
            answers = []
            for _ in range(10):  # a new connection each time: both processes take some
                async with httpx.AsyncClient(base_url=server.base_url) as http:
                    answers.append((await http.post(f"/api/slots/{slot['id']}/hold")).status_code)
            assert answers.count(429) == 6, answers
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        redis.stop()
        await drop_postgres_database(url)
