"""Real concurrency against real servers: hundreds of claims at once, on PostgreSQL and SQLite.

Each engine gets a database built by the migrations and `skyslots serve --workers 2` in a
subprocess, so claims race across processes and connections exactly as in production. The
control tests show the race is real: without the partial unique indexes duplicates do appear.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select

from skyslots.db import Database
from skyslots.migrate import migrate
from skyslots.models import AuditLog, Booking, BookingStatus, Event
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.servers import RunningServer, start_server

STORM = 300  # concurrent claims on one slot
SLOTS_FOR_ONE_CALLSIGN = 100
CHURN_CLIENTS, CHURN_ROUNDS = 20, 8
NAIVE_RACERS = 16  # direct connections in the control race; PostgreSQL allows 100 in all
SERVER_WORKERS = 2
# Bounded pools keep this file well under PostgreSQL's max_connections while other test runs
# share the server; requests queue for a connection instead.
SERVER_ENV = {"SKYSLOTS_DB_POOL_SIZE": "4", "SKYSLOTS_DB_MAX_OVERFLOW": "4"}
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@dataclass
class Live:
    """A migrated database, a real server on it, and an organizer signed in through it."""

    engine: str
    database_url: str
    server: RunningServer
    db: Database
    http: httpx.AsyncClient
    organizer: Account


@asynccontextmanager
async def live_stack(
    engine: str, folder: Path, *, drop_guards: bool = False
) -> AsyncIterator[Live]:
    """A fresh migrated database (optionally without the booking guards) and a server on it."""
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'concurrency.db'}"
    else:
        url = await create_postgres_database()
    try:
        await asyncio.to_thread(migrate, url)
        if drop_guards:
            connection = await asyncpg.connect(asyncpg_dsn(url))
            try:
                await connection.execute("DROP INDEX uq_bookings_active_slot")
                await connection.execute("DROP INDEX uq_bookings_claimed_callsign")
            finally:
                await connection.close()
        db = Database(make_settings(url, folder))
        server = await asyncio.to_thread(start_server, url, env=SERVER_ENV, workers=SERVER_WORKERS)
        # Idle connections are dropped by the client (2 s) well before uvicorn closes them (5 s):
        # otherwise a request can go out on a connection the server is closing at that moment,
        # an httpx.ReadError that only shows when slow set-up leaves the pool idle ~5 s (load).
        limits = httpx.Limits(
            max_connections=STORM + 50, max_keepalive_connections=STORM + 50, keepalive_expiry=2
        )
        try:
            async with httpx.AsyncClient(
                base_url=server.base_url, limits=limits, timeout=60
            ) as http:
                organizer = await make_account(db, http, email="org@example.com")
                yield Live(engine, url, server, db, http, organizer)
        finally:
            await asyncio.to_thread(server.stop)
            await db.dispose()
    finally:
        if engine == "postgres":
            await drop_postgres_database(url)


@pytest.fixture(scope="module", params=ENGINES)
async def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    async with live_stack(request.param, tmp_path_factory.mktemp("live")) as stack:
        yield stack


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://")


async def storm(
    http: httpx.AsyncClient,
    requests: Sequence[tuple[str, dict[str, Any]]],
    *,
    tolerate_errors: bool = False,
) -> list[httpx.Response]:
    """POST all `requests` at once: every task waits at one gate, then all are let go.

    With `tolerate_errors`, requests that fail in transport are left out of the result.
    """
    gate = asyncio.Event()

    async def one(path: str, body: dict[str, Any]) -> httpx.Response | None:
        await gate.wait()
        try:
            return await http.post(path, json=body)
        except httpx.TransportError:
            if tolerate_errors:
                return None
            raise

    tasks = [asyncio.create_task(one(path, body)) for path, body in requests]
    await asyncio.sleep(0.05)  # every task is parked at the gate
    gate.set()
    return [response for response in await asyncio.gather(*tasks) if response is not None]


def assert_no_server_errors(responses: Sequence[httpx.Response]) -> None:
    """No 5xx, and a locked SQLite database never shows through to a client."""
    errors = [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 500]
    assert not errors, f"{len(errors)} server errors, e.g. {errors[:3]}"
    leaked = [
        r.text[:200]
        for r in responses
        if "database is locked" in r.text.lower() or "database is busy" in r.text.lower()
    ]
    assert not leaked, f"'database is locked' reached a client: {leaked[:3]}"


def outcome(responses: Sequence[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """(status, code) -> count; `code` is the 409's machine code."""
    return Counter(
        (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in responses
    )


async def fresh_event(live: Live, slots: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    event = await make_event(live.http, live.organizer)
    return event, await make_slots(live.http, live.organizer, event, pilot_slots(slots))


async def claimed_bookings(db: Database, *, slot_id: int) -> int:
    async def count(session: Any) -> int:
        return await session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.slot_id == slot_id, Booking.status == BookingStatus.CLAIMED)
        )

    return await db.read(count)


async def audit_counts(db: Database, *, event_id: int) -> Counter[str]:
    async def rows(session: Any) -> Counter[str]:
        result = await session.execute(
            select(AuditLog.action_type, func.count())
            .where(AuditLog.event_id == event_id)
            .group_by(AuditLog.action_type)
        )
        return Counter({action: count for action, count in result.all()})

    return await db.read(rows)


async def event_version(db: Database, *, event_id: int) -> int:
    async def version(session: Any) -> int:
        return await session.scalar(select(Event.version).where(Event.id == event_id))

    return await db.read(version)


async def test_one_slot_storm_has_exactly_one_winner(live: Live) -> None:
    event, [slot] = await fresh_event(live, 1)
    version_before = await event_version(live.db, event_id=event["id"])

    path = f"/api/slots/{slot['id']}/book"
    responses = await storm(live.http, [(path, booking_body(f"RSH{i:04d}")) for i in range(STORM)])

    assert_no_server_errors(responses)
    assert outcome(responses) == {(201, None): 1, (409, "slot_taken"): STORM - 1}
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert winner["slot_id"] == slot["id"]
    assert await claimed_bookings(live.db, slot_id=slot["id"]) == 1
    assert (await audit_counts(live.db, event_id=event["id"]))["booking.claimed"] == 1
    assert await event_version(live.db, event_id=event["id"]) == version_before + 1


async def test_one_callsign_racing_for_many_slots_wins_once(live: Live) -> None:
    event, slots = await fresh_event(live, SLOTS_FOR_ONE_CALLSIGN)
    variants = ["baw1", "BAW1", "Baw1", "bAw1"]
    requests = [
        (f"/api/slots/{slot['id']}/book", booking_body(variants[i % len(variants)]))
        for i, slot in enumerate(slots)
    ]

    responses = await storm(live.http, requests)

    assert_no_server_errors(responses)
    assert outcome(responses) == {
        (201, None): 1,
        (409, "callsign_taken"): SLOTS_FOR_ONE_CALLSIGN - 1,
    }
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert winner["pilot_callsign"] == "BAW1"
    claimed = sum([await claimed_bookings(live.db, slot_id=s["id"]) for s in slots])
    assert claimed == 1
    assert (await audit_counts(live.db, event_id=event["id"]))["booking.claimed"] == 1


async def test_claim_release_churn_keeps_one_holder_and_counts_versions(live: Live) -> None:
    event, [slot] = await fresh_event(live, 1)
    version_before = await event_version(live.db, event_id=event["id"])
    claim_path = f"/api/slots/{slot['id']}/book"
    responses: list[httpx.Response] = []
    most_claimed_seen = 0
    done = asyncio.Event()

    async def client(number: int) -> None:
        for round_ in range(CHURN_ROUNDS):
            claim = await live.http.post(claim_path, json=booking_body(f"CH{number:02d}R{round_}"))
            responses.append(claim)
            if claim.status_code == 201:
                booking = claim.json()
                release = await live.http.post(
                    f"/api/bookings/{booking['id']}/release",
                    headers={"X-Manage-Token": booking["manage_token"]},
                )
                responses.append(release)
            else:
                responses.append(await live.http.get(f"/api/events/{event['id']}"))

    async def watch() -> None:
        # Nobody ever observes two holders, not only at the end.
        nonlocal most_claimed_seen
        while not done.is_set():
            seen = await claimed_bookings(live.db, slot_id=slot["id"])
            most_claimed_seen = max(most_claimed_seen, seen)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(client(n) for n in range(CHURN_CLIENTS)))
    done.set()
    await watcher

    assert_no_server_errors(responses)
    by_kind = Counter(
        (r.request.method, r.url.path.rsplit("/", 1)[1], r.status_code) for r in responses
    )
    claims, releases = by_kind[("POST", "book", 201)], by_kind[("POST", "release", 200)]
    assert claims + by_kind[("POST", "book", 409)] == CHURN_CLIENTS * CHURN_ROUNDS, by_kind
    assert claims > 1  # the slot really changed hands
    assert releases == claims  # every winner released
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"slot_taken"}
    assert most_claimed_seen <= 1
    assert await claimed_bookings(live.db, slot_id=slot["id"]) == 0
    audit = await audit_counts(live.db, event_id=event["id"])
    assert (audit["booking.claimed"], audit["booking.released"]) == (claims, releases)
    assert await event_version(live.db, event_id=event["id"]) == version_before + claims + releases


# --- control: the race is real, and the partial unique index is what holds ----------------------


async def naive_check_then_insert(database_url: str, *, slot_id: int, event_id: int) -> int:
    """NAIVE_RACERS connections each check the slot is free, then insert; returns the inserts.

    A barrier between the check and the insert makes the race certain rather than likely: every
    racer has seen "free" before any of them inserts.
    """
    connections = [await asyncpg.connect(asyncpg_dsn(database_url)) for _ in range(NAIVE_RACERS)]
    barrier = asyncio.Barrier(NAIVE_RACERS)

    async def racer(number: int, connection: asyncpg.Connection) -> bool:
        try:
            async with connection.transaction():
                holders = await connection.fetchval(
                    "SELECT count(*) FROM bookings WHERE slot_id = $1 AND status = 'claimed'",
                    slot_id,
                )
                await barrier.wait()
                if holders:
                    return False
                await connection.execute(
                    "INSERT INTO bookings (slot_id, event_id, pilot_name, pilot_callsign, status,"
                    " claimed_at, notes, manage_token_hash)"
                    " VALUES ($1, $2, 'Racer', $3, 'claimed', now(), '', $4)",
                    slot_id,
                    event_id,
                    f"NVE{number:03d}",
                    secrets.token_hex(32),
                )
            return True
        except asyncpg.UniqueViolationError:
            return False

    try:
        won = await asyncio.gather(*(racer(n, c) for n, c in enumerate(connections)))
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return sum(won)


@pytest.mark.postgres
async def test_control_without_the_index_duplicates_appear(tmp_path: Path) -> None:
    async with live_stack("postgres", tmp_path, drop_guards=True) as unguarded:
        event, [naive_slot] = await fresh_event(unguarded, 1)

        inserted = await naive_check_then_insert(
            unguarded.database_url, slot_id=naive_slot["id"], event_id=event["id"]
        )
        assert inserted == NAIVE_RACERS  # check-then-insert lets every racer through
        assert await claimed_bookings(unguarded.db, slot_id=naive_slot["id"]) == NAIVE_RACERS


@pytest.mark.postgres
@pytest.mark.parametrize("live", [pytest.param("postgres")], indirect=True)
async def test_control_with_the_index_the_same_race_has_one_winner(live: Live) -> None:
    event, [slot] = await fresh_event(live, 1)

    inserted = await naive_check_then_insert(
        live.database_url, slot_id=slot["id"], event_id=event["id"]
    )

    assert inserted == 1
    assert await claimed_bookings(live.db, slot_id=slot["id"]) == 1
