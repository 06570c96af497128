"""The outbox: side effects to deliver, written in the transaction of the change causing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.jobs.kick import kick_after_commit
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
    """Queue a notification with the unit of work; `dedupe_key` makes a second copy impossible.

    Once the unit of work commits, its delivery is asked for at once (jobs.kick).
    """
    message = OutboxMessage(
        event_id=event_id, kind=kind, target=target, payload=payload, dedupe_key=dedupe_key
    )
    session.add(message)
    kick_after_commit(session, message)
