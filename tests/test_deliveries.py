"""The organizer's deliveries: the list (masked, newest first), retry of a failed one, the page,
and every route refused to anyone but the event's organizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.models import OutboxMessage
from tests.conftest import make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.test_web_roster_actions import followed, signed_in

_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # No relay runs: the rows stay as the test sets them.
    return make_settings(database_url, tmp_path, jobs_in_process=False)


async def booked_with_email(
    client: httpx.AsyncClient, organizer: Account, count: int = 2
) -> dict[str, Any]:
    event = await make_event(client, organizer)
    for number, slot in enumerate(await make_slots(client, organizer, event, pilot_slots(count))):
        body = booking_body(f"BAW{number}", email=f"pilot{number}@example.com")
        assert (await client.post(f"/api/slots/{slot['id']}/book", json=body)).status_code == 201
    return event


async def kill_all(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(
            update(_outbox).values(status="dead", attempts=12, last_error="SMTP answered 550")
        )


async def test_the_list_is_newest_first_and_masks_addresses(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await booked_with_email(client, organizer)
    listed = await client.get(f"/api/events/{event['id']}/deliveries", headers=organizer.headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [(r["kind"], r["target"], r["status"]) for r in rows] == [
        ("booking.confirmed", "p***@example.com", "pending"),
        ("booking.confirmed", "p***@example.com", "pending"),
    ]
    assert rows[0]["id"] > rows[1]["id"]
    assert "pilot0@example.com" not in listed.text and "pilot1" not in listed.text


async def test_a_failed_delivery_is_retried_once_asked(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await booked_with_email(client, organizer, count=1)
    [row] = (
        await client.get(f"/api/events/{event['id']}/deliveries", headers=organizer.headers)
    ).json()
    path = f"/api/deliveries/{row['id']}/retry"
    pending = await client.post(path, headers=organizer.headers)
    assert pending.status_code == 409 and pending.json()["code"] == "delivery_not_dead"
    await kill_all(db)
    retried = await client.post(path, headers=organizer.headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    assert retried.json()["last_error"] == "SMTP answered 550"  # kept until the next attempt


async def test_nobody_but_the_organizer_sees_or_retries(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    other = await make_account(db, client, email="other@example.com")
    event = await booked_with_email(client, organizer, count=1)
    await kill_all(db)
    [row] = (
        await client.get(f"/api/events/{event['id']}/deliveries", headers=organizer.headers)
    ).json()
    for headers, status in (({}, 401), (other.headers, 403)):
        listed = await client.get(f"/api/events/{event['id']}/deliveries", headers=headers)
        assert listed.status_code == status
        retried = await client.post(f"/api/deliveries/{row['id']}/retry", headers=headers)
        assert retried.status_code == status
    missing = await client.post("/api/deliveries/999999/retry", headers=organizer.headers)
    assert missing.status_code == 404
    huge = await client.post(f"/api/deliveries/{2**40}/retry", headers=organizer.headers)
    assert huge.status_code == 422
    token = await signed_in(client, other)
    page = await client.get(f"/organizer/events/{event['id']}/deliveries")
    assert page.status_code == 403 and "p***@example.com" not in page.text
    form = await client.post(f"/organizer/deliveries/{row['id']}/retry", data={"csrf_token": token})
    assert form.status_code == 403
    listed = await client.get(f"/api/events/{event['id']}/deliveries", headers=organizer.headers)
    assert listed.json()[0]["status"] == "dead"  # the refused retries changed nothing


async def test_the_deliveries_page_shows_and_retries(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await booked_with_email(client, organizer, count=1)
    await kill_all(db)
    token = await signed_in(client, organizer)
    page = await client.get(f"/organizer/events/{event['id']}/deliveries")
    assert page.status_code == 200
    assert "p***@example.com" in page.text and "pilot0@example.com" not in page.text
    assert "SMTP answered 550" in page.text and "Retry now" in page.text
    [row] = (
        await client.get(f"/api/events/{event['id']}/deliveries", headers=organizer.headers)
    ).json()
    response = await client.post(
        f"/organizer/deliveries/{row['id']}/retry", data={"csrf_token": token}
    )
    location, flash = await followed(client, response)
    assert location == f"/organizer/events/{event['id']}/deliveries"
    assert flash == f"Delivery {row['id']} is queued again."
    again = await client.post(
        f"/organizer/deliveries/{row['id']}/retry", data={"csrf_token": token}
    )
    _, flash = await followed(client, again)
    assert "only a failed one can be retried" in flash
