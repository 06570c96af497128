"""Webhook endpoints: organizers create, list, delete and test them; a 410 disables one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor, audit_record
from skyslots.db import utcnow
from skyslots.errors import Conflict, NotFound
from skyslots.events.service import event_get, event_managed
from skyslots.models import OutboxMessage, User, WebhookEndpoint
from skyslots.models.outbox import DeliveryStatus
from skyslots.outbox.service import outbox_add
from skyslots.webhooks.fanout import KIND, message, new_message_id
from skyslots.webhooks.schemas import TEST_TYPE, WebhookCreate, WebhookCreated, WebhookOut
from skyslots.webhooks.signing import masked_secret, new_secret

REASON_CHARS = 500


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,  # type: ignore[arg-type]
        event_id=endpoint.event_id,
        url=endpoint.url,
        events=list(endpoint.event_types),
        include_email=endpoint.include_email,
        secret=masked_secret(endpoint.secret),
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


async def webhook_create(
    session: AsyncSession, *, event_id: int, data: WebhookCreate, user: User
) -> WebhookCreated:
    """Add an endpoint to the event (its URL checked by the caller); the secret is shown once."""
    await event_managed(session, event_id=event_id, user=user)
    endpoint = WebhookEndpoint(
        event_id=event_id,
        url=data.url,
        event_types=list(data.events),
        secret=new_secret(),
        include_email=data.include_email,
    )
    session.add(endpoint)
    await session.flush()
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="webhook.created",
        event_id=event_id,
        payload={"webhook_id": endpoint.id, "events": endpoint.event_types,
                 "include_email": endpoint.include_email},
    )  # fmt: skip
    return WebhookCreated(**(webhook_out(endpoint).model_dump() | {"secret": endpoint.secret}))


async def webhooks_of_event(
    session: AsyncSession, *, event_id: int, user: User
) -> list[WebhookOut]:
    """The event's endpoints, oldest first, secrets masked."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.event_id == event_id)
        .order_by(WebhookEndpoint.id)
    )
    return [webhook_out(row) for row in rows]


async def webhook_managed(session: AsyncSession, *, webhook_id: int, user: User) -> WebhookEndpoint:
    """The endpoint if `user` manages its event: 404 when unknown, 403 when not theirs."""
    endpoint = await session.get(WebhookEndpoint, webhook_id)
    if endpoint is None:
        raise NotFound(f"Webhook {webhook_id} does not exist.", code="webhook_not_found")
    await event_managed(session, event_id=endpoint.event_id, user=user)
    return endpoint


async def _pending_die(
    session: AsyncSession, *, webhook_id: int, reason: str, except_id: int | None = None
) -> None:
    """The endpoint's undelivered rows are dead: nobody will receive them."""
    statement = update(OutboxMessage).where(
        OutboxMessage.kind == KIND,
        OutboxMessage.target == str(webhook_id),
        OutboxMessage.status == DeliveryStatus.PENDING.value,
    )
    if except_id is not None:
        statement = statement.where(OutboxMessage.id != except_id)
    await session.execute(
        statement.values(status=DeliveryStatus.DEAD.value, last_error=reason).execution_options(
            synchronize_session=False
        )
    )


async def webhook_delete(session: AsyncSession, *, webhook_id: int, user: User) -> None:
    """Remove an endpoint; what it had not received yet is not sent."""
    endpoint = await webhook_managed(session, webhook_id=webhook_id, user=user)
    await _pending_die(session, webhook_id=webhook_id, reason="the endpoint was deleted")
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="webhook.deleted",
        event_id=endpoint.event_id,
        payload={"webhook_id": webhook_id},
    )
    await session.delete(endpoint)
    await session.flush()


async def webhook_test(session: AsyncSession, *, webhook_id: int, user: User) -> int:
    """Queue a `webhook.test` message to the endpoint; the outbox row's id."""
    endpoint = await webhook_managed(session, webhook_id=webhook_id, user=user)
    if endpoint.disabled_at is not None:
        raise Conflict(
            f"Webhook {webhook_id} is disabled ({endpoint.disabled_reason}); create it anew.",
            code="webhook_disabled",
        )
    event = await event_get(session, event_id=endpoint.event_id)
    message_id = new_message_id()
    return await outbox_add(
        session,
        kind=KIND,
        target=str(webhook_id),
        payload=message(
            type=TEST_TYPE,
            event=event.model_dump(),
            data={"webhook_id": webhook_id},
            at=utcnow(),
            message_id=message_id,
        ),
        dedupe_key=f"webhook:{webhook_id}:{message_id}",
        event_id=endpoint.event_id,
    )


async def webhook_disable(
    session: AsyncSession,
    *,
    webhook_id: int,
    reason: str,
    delivery_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Turn an endpoint off (its receiver said 410 Gone); its other pending rows die."""
    reason = reason[:REASON_CHARS]
    result = await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == webhook_id, WebhookEndpoint.disabled_at.is_(None))
        .values(disabled_at=now or utcnow(), disabled_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        await _pending_die(
            session, webhook_id=webhook_id, reason=f"endpoint disabled: {reason}",
            except_id=delivery_id,
        )  # fmt: skip
