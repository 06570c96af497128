"""The organizer's view of an event's deliveries, and "retry now" for a dead one."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import utcnow
from skyslots.errors import Conflict, NotFound
from skyslots.events.service import event_managed
from skyslots.jobs.kick import kick_after_commit
from skyslots.models import OutboxMessage, User
from skyslots.models.outbox import DeliveryStatus

LIMIT = 500


class Delivery(BaseModel):
    """An outbox row as organizers see it: the recipient masked, never a secret."""

    id: int
    event_id: int | None
    kind: str
    target: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


class DeliveryNotDead(Conflict):
    def __init__(self, event_id: int, detail: str) -> None:
        super().__init__(detail, code="delivery_not_dead")
        self.event_id = event_id


def masked(target: str) -> str:
    """`j***@example.com` for an address; other targets (an endpoint id) as they are."""
    local, at, domain = target.partition("@")
    if not at:
        return target
    return f"{local[:1]}***@{domain}"


def delivery_of(row: OutboxMessage) -> Delivery:
    pending = row.status == DeliveryStatus.PENDING
    return Delivery(
        id=row.id,  # type: ignore[arg-type]
        event_id=row.event_id,
        kind=row.kind,
        target=masked(row.target),
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at if pending else None,
        sent_at=row.sent_at,
    )


async def deliveries_of_event(
    session: AsyncSession, *, event_id: int, user: User, limit: int = LIMIT
) -> list[Delivery]:
    """The event's deliveries, newest first (organizer only)."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.event_id == event_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [delivery_of(row) for row in rows]


async def delivery_retry(session: AsyncSession, *, delivery_id: int, user: User) -> Delivery:
    """Give a dead delivery a fresh set of attempts, due now; 409 unless it is dead."""
    row = await session.get(OutboxMessage, delivery_id, with_for_update=True)
    if row is None or row.event_id is None:
        raise NotFound(f"Delivery {delivery_id} does not exist.", code="delivery_not_found")
    await event_managed(session, event_id=row.event_id, user=user)
    if row.status != DeliveryStatus.DEAD:
        raise DeliveryNotDead(
            row.event_id,
            f"Delivery {delivery_id} is {row.status}; only a failed one can be retried.",
        )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == delivery_id)
        .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    kick_after_commit(session, delivery_id)
    await session.refresh(row)
    return delivery_of(row)
