"""The audit trail: every state change writes a row in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import AuditLog, User
from skyslots.models.audit import ACTOR_LENGTH


@dataclass(frozen=True)
class Actor:
    """Who did it: a signed-in user, an anonymous booker, or the system."""

    label: str
    user_id: int | None = None

    @classmethod
    def of_user(cls, user: User) -> Actor:
        # Never the email: the audit log keeps no address (docs/privacy.md); user_id identifies.
        return cls(label=f"user:{user.id} {user.name}"[:ACTOR_LENGTH], user_id=user.id)

    @staticmethod
    def deleted_label(user_id: int) -> str:
        """What a deleted account's audit rows say instead of its name."""
        return f"user:{user_id} (deleted)"

    @classmethod
    def booker(cls, callsign: str) -> Actor:
        return cls(label=f"booker:{callsign}")


SYSTEM = Actor(label="system")


def audit_record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    event_id: int | None,
    payload: dict[str, Any],
) -> None:
    """Add an audit row to the session; it is written with the change it describes."""
    session.add(
        AuditLog(
            event_id=event_id,
            user_id=actor.user_id,
            actor=actor.label,
            action_type=action,
            payload=payload,
        )
    )


async def audit_list(
    session: AsyncSession, *, event_id: int, limit: int, offset: int
) -> list[AuditLog]:
    """An event's audit log, newest first."""
    result = await session.execute(
        select(AuditLog)
        .where(AuditLog.event_id == event_id)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars())
