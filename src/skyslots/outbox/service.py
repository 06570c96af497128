"""The outbox: side effects to deliver, written in the transaction of the change causing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from skyslots.db import utcnow
from skyslots.jobs.kick import kick_after_commit
from skyslots.models import OutboxMessage
from skyslots.models.outbox import DeliveryStatus

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT = insert(OUTBOX).returning(OUTBOX.c.id)


@dataclass(frozen=True)
class OutboxRow:
    """A notification to queue: `dedupe_key` makes a second copy impossible."""

    kind: str
    target: str
    payload: dict[str, Any]
    dedupe_key: str
    event_id: int | None = None

    def values(self, now: datetime) -> dict[str, Any]:
        """The row's columns, due at once."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "target": self.target,
            "payload": self.payload,
            "dedupe_key": self.dedupe_key,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }


async def outbox_add(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    dedupe_key: str,
    event_id: int | None = None,
) -> int:
    """Queue a notification with the unit of work (its id). Written at once, so a caller can do
    it before the roster journal's row lock; a change that is journalled anyway can hand its rows
    to the journal instead (`roster.journal_change(outbox=...)`), one round trip fewer.

    Once the unit of work commits, its delivery is asked for at once (jobs.kick).
    """
    row = OutboxRow(kind, target, payload, dedupe_key, event_id)
    row_id = await outbox_insert(await session.connection(), row, utcnow())
    kick_after_commit(session, row_id)
    return row_id


async def outbox_insert(connection: AsyncConnection, row: OutboxRow, now: datetime) -> int:
    """Write one row (no kick: see `outbox_add`); its id."""
    return int((await connection.execute(_INSERT, row.values(now))).scalar_one())
