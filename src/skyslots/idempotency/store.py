"""Idempotency keys in the database: the first request with a key takes it; later ones with the
same key and request get its stored response (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Database, utcnow
from skyslots.models import IdempotencyKey

KEEP = timedelta(hours=24)
# A first request that takes longer than this (its process died) can be taken over by a retry.
LEASE = timedelta(seconds=60)

_keys = IdempotencyKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Begun:
    """This request runs; `finish` or `abandon` its key afterwards."""

    row_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str
    media_type: str | None


class Mismatch:
    """The key was used with another request."""


class InFlight:
    """The first request with the key is still running."""


Outcome = Begun | Replay | Mismatch | InFlight


async def _insert(session: AsyncSession, values: dict[str, object]) -> int:
    connection = await session.connection()
    return int((await connection.execute(insert(_keys).returning(_keys.c.id), values)).scalar_one())


async def _find(session: AsyncSession, key: str, path: str) -> IdempotencyKey | None:
    found: IdempotencyKey | None = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.path == path)
    )
    return found


async def _take_over(session: AsyncSession, row: IdempotencyKey, now: datetime) -> bool:
    """An abandoned first request's key, if nobody took it meanwhile."""
    connection = await session.connection()
    taken = await connection.execute(
        update(_keys)
        .where(_keys.c.id == row.id, _keys.c.response_status.is_(None),
               _keys.c.locked_until == row.locked_until)
        .values(locked_until=now + LEASE)
    )  # fmt: skip
    return taken.rowcount == 1


async def _drop(session: AsyncSession, row_id: int) -> None:
    await session.execute(delete(_keys).where(_keys.c.id == row_id))


async def begin(db: Database, *, key: str, path: str, fingerprint: str) -> Outcome:
    """Take `key` for this request, or say what to answer instead."""
    for _ in range(5):
        now = utcnow()
        values = {"key": key, "path": path, "fingerprint": fingerprint, "created_at": now,
                  "locked_until": now + LEASE, "expires_at": now + KEEP}  # fmt: skip
        try:
            return Begun(await db.transaction(_insert, values))
        except IntegrityError:
            pass  # the key is known: read what became of it
        row = await db.read(_find, key, path)
        if row is None or row.id is None:
            continue  # deleted meanwhile (expired, or its request failed): try again
        if row.expires_at <= now:
            await db.transaction(_drop, row.id)
            continue
        if row.fingerprint != fingerprint:
            return Mismatch()
        if row.response_status is not None:
            return Replay(row.response_status, row.response_body or "", row.response_type)
        if row.locked_until > now:
            return InFlight()
        if await db.transaction(_take_over, row, now):
            return Begun(row.id)
    return InFlight()


async def _store(
    session: AsyncSession, row_id: int, status: int, body: str, media_type: str | None
) -> None:
    await session.execute(
        update(_keys)
        .where(_keys.c.id == row_id)
        .values(response_status=status, response_body=body, response_type=media_type)
    )


async def finish(db: Database, begun: Begun, *, status: int, body: str, media_type: str | None
                 ) -> None:  # fmt: skip
    """Keep the response for replays."""
    await db.transaction(_store, begun.row_id, status, body, media_type)


async def abandon(db: Database, begun: Begun) -> None:
    """Forget the key (the request failed on the server's side, or was refused before it ran):
    a retry with it runs anew."""
    await db.transaction(_drop, begun.row_id)


async def _purge(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(_keys).where(_keys.c.expires_at <= now))
    return int(result.rowcount or 0)


async def purge_expired(db: Database, *, now: datetime | None = None) -> int:
    """Delete keys older than 24 h (beat's hourly retention job, jobs.work.purge_retention)."""
    return await db.transaction(_purge, now or utcnow())
