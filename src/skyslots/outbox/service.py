"""The outbox: side effects to deliver, written in the transaction of the change causing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import OutboxMessage


def outbox_add(
    session: AsyncSession,
    *,
    kind: str,
    target: str,
    payload: dict[str, Any],
    dedupe_key: str,
    event_id: int | None = None,
) -> None:
    """Queue a notification with the unit of work; `dedupe_key` makes a second copy impossible."""
    session.add(
        OutboxMessage(
            event_id=event_id, kind=kind, target=target, payload=payload, dedupe_key=dedupe_key
        )
    )
