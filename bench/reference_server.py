"""The physical reference for bench/booking_rush.py: the least a claim endpoint can do.

FastAPI + a bare asyncpg pool, no ORM, no checks: one transaction with the same two inserts as
SkySlots (the booking row, then its audit row); the partial unique indexes turn a second claim
into a 409. Run under uvicorn like the real server:

    BENCH_REFERENCE_DSN=postgresql://... uvicorn --app-dir bench reference_server:app
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

DSN = os.environ.get("BENCH_REFERENCE_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
POOL_SIZE = int(os.environ.get("BENCH_REFERENCE_POOL_SIZE", "30"))

INSERT_BOOKING = """
INSERT INTO bookings (slot_id, event_id, pilot_name, pilot_callsign, email, status, claimed_at,
                      notes, manage_token_hash)
SELECT id, event_id, $2, $3, $4, 'claimed', $5, $6, $7 FROM slots WHERE id = $1
RETURNING id, event_id
"""
INSERT_AUDIT = """
INSERT INTO audit_logs (event_id, actor, action_type, payload, created_at)
VALUES ($1, $2, 'booking.claimed', $3, $4)
"""


class Claim(BaseModel):
    pilot_name: str = Field(min_length=1, max_length=100)
    pilot_callsign: str = Field(min_length=3, max_length=10)
    email: str | None = None
    notes: str = ""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=min(2, POOL_SIZE), max_size=POOL_SIZE)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/slots/{slot_id}/book", status_code=201, response_model=None)
async def book(slot_id: int, claim: Claim, request: Request) -> dict[str, object] | JSONResponse:
    callsign = claim.pilot_callsign.upper()
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    try:
        async with request.app.state.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                INSERT_BOOKING,
                slot_id,
                claim.pilot_name,
                callsign,
                claim.email,
                now,
                claim.notes,
                hashlib.sha256(token.encode()).hexdigest(),
            )
            if row is None:
                return JSONResponse({"detail": "no such slot", "code": "slot_not_found"}, 404)
            payload = {"booking_id": row["id"], "slot_id": slot_id, "callsign": callsign}
            await connection.execute(
                INSERT_AUDIT, row["event_id"], f"booker:{callsign}", json.dumps(payload), now
            )
    except asyncpg.UniqueViolationError as error:
        code = "callsign_taken" if "callsign" in (error.constraint_name or "") else "slot_taken"
        return JSONResponse({"detail": "already claimed", "code": code}, 409)
    return {
        "id": row["id"],
        "slot_id": slot_id,
        "event_id": row["event_id"],
        "status": "claimed",
        "pilot_callsign": callsign,
        "pilot_name": claim.pilot_name,
        "claimed_at": now.isoformat(),
        "manage_token": token,
    }
