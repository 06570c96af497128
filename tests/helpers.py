"""Builders for test data, through the real services and the real API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.service import user_create
from skyslots.db import Database
from skyslots.models import Role

PASSWORD = "correct horse battery"
T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    headers: dict[str, str]


async def make_account(
    db: Database, client: httpx.AsyncClient, *, email: str, role: Role = Role.ORGANIZER
) -> Account:
    """A user with a password, signed in through POST /api/auth/token."""
    user = await db.transaction(
        user_create,
        data=UserCreate(
            email=email, name=email.split("@")[0].title(), role=role, password=PASSWORD
        ),
    )
    response = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return Account(id=user.id, email=email, headers={"Authorization": f"Bearer {token}"})


def event_start(days: int = 7) -> datetime:
    return datetime.now(UTC).replace(hour=16, minute=0, second=0, microsecond=0) + timedelta(
        days=days
    )


def event_body(**overrides: Any) -> dict[str, Any]:
    start = event_start()
    body: dict[str, Any] = {
        "title": "Heathrow Evening Rush",
        "description": "A busy evening",
        "start_datetime": start.isoformat(),
        "end_datetime": (start + timedelta(hours=6)).isoformat(),
        "airport_icao": "EGLL",
        "status": "published",
    }
    body.update(overrides)
    return body


async def make_event(
    client: httpx.AsyncClient, organizer: Account, **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/events", json=event_body(**overrides), headers=organizer.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_slots(
    client: httpx.AsyncClient,
    organizer: Account,
    event: dict[str, Any],
    bodies: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    response = await client.post(
        f"/api/events/{event['id']}/slots/bulk", json=bodies, headers=organizer.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def pilot_slots(count: int) -> list[dict[str, Any]]:
    return [{"position_name": f"EGLL-KJFK {i:04d}", "position_type": "PILOT"} for i in range(count)]


def booking_body(callsign: str = "BAW123", name: str = "Jane Doe", **extra: Any) -> dict[str, Any]:
    return {"pilot_name": name, "pilot_callsign": callsign, **extra}


async def eventually(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], seconds: float = 10.0
) -> T:
    """`read()` until `done` accepts its result, e.g. a delivery's outcome, which is written
    after the SMTP server or receiver already answered."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await read()
        if done(result) or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)
