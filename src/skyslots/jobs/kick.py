"""After a commit that wrote outbox rows: ask for their delivery at once.

Only a hint: if it is lost (the broker is down, the process dies), the periodic relay delivers
the rows anyway, since the database says what is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import on_commit

KICK_KEY = "outbox_kick"


class OutboxKick(Protocol):
    async def __call__(self, ids: Sequence[int]) -> None:
        """Start delivering these rows soon; never raises."""


def kick_after_commit(session: AsyncSession, row_id: int) -> None:
    kick: OutboxKick | None = session.info.get(KICK_KEY)
    if kick is None:
        return
    pending: list[int] | None = session.info.get("outbox_pending")
    if pending is not None:  # one kick per unit of work, for all its rows
        pending.append(row_id)
        return
    pending = session.info["outbox_pending"] = [row_id]

    async def after_commit() -> None:
        await kick(list(pending))

    on_commit(session, after_commit)
