"""The outbox: side effects to deliver, written in the transaction of the change causing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import utcnow
from skyslots.jobs.kick import kick_after_commit
from skyslots.models import OutboxMessage
from skyslots.models.outbox import DeliveryStatus

_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT = insert(_outbox).returning(_outbox.c.id)


async def outbox_add(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    dedupe_key: str,
    event_id: int | None = None,
) -> int:
    """Queue a notification with the unit of work (its id); `dedupe_key` makes a second copy
    impossible. Written at once, so a caller can do it before the roster journal's row lock.

    Once the unit of work commits, its delivery is asked for at once (jobs.kick).
    """
    now = utcnow()
    connection = await session.connection()
    row_id = (
        await connection.execute(
            _INSERT,
            {
                "event_id": event_id,
                "kind": kind,
                "target": target,
                "payload": payload,
                "dedupe_key": dedupe_key,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    ).scalar_one()
    kick_after_commit(session, int(row_id))
    return int(row_id)
