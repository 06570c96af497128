"""Table handles and the audit insert shared by the claim and release statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.audit.service import Actor
from skyslots.models import AuditLog, Booking, Event, Slot

slots_table = Slot.__table__  # type: ignore[attr-defined]
events_table = Event.__table__  # type: ignore[attr-defined]
bookings_table = Booking.__table__  # type: ignore[attr-defined]


async def insert_audit_row(
    connection: AsyncConnection,
    *,
    actor: Actor,
    action: str,
    event_id: int,
    payload: dict[str, Any],
    created_at: datetime,
) -> None:
    """The audit row of a claim or release on SQLite (PostgreSQL writes it inside one CTE)."""
    await connection.execute(
        insert(AuditLog),
        {
            "event_id": event_id,
            "user_id": actor.user_id,
            "actor": actor.label,
            "action_type": action,
            "payload": payload,
            "created_at": created_at,
        },
    )
