"""Claims racing an organizer's change to the event, on PostgreSQL (SQLite serializes writers)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Database
from skyslots.models import Booking
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


async def _wait_for_a_lock_wait(connection: asyncpg.Connection) -> None:
    for _ in range(200):
        if await connection.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the claim never queued for the event's row lock")


async def test_a_claim_queued_behind_a_cancellation_is_refused(
    client: httpx.AsyncClient, db: Database, database_url: str
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    dsn = database_url.replace("postgresql+asyncpg", "postgresql")
    cancelling = await asyncpg.connect(dsn)
    try:
        transaction = cancelling.transaction()
        await transaction.start()
        await cancelling.execute(
            "UPDATE events SET status = 'cancelled' WHERE id = $1", event["id"]
        )
        # The claim reads the event as published (the cancellation is not committed yet), then
        # queues for the event row that the cancellation holds.
        claim = asyncio.create_task(
            client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
        )
        await _wait_for_a_lock_wait(cancelling)
        await transaction.commit()
        response = await claim
    finally:
        await cancelling.close()

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "event_not_published"

    async def bookings(session: AsyncSession) -> int | None:
        return await session.scalar(select(func.count()).select_from(Booking))

    assert await db.read(bookings) == 0
