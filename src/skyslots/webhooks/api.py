from __future__ import annotations

from fastapi import APIRouter, Response

from skyslots.accounts.deps import DatabaseDep, OrganizerUser, SettingsDep
from skyslots.errors import ValidationFailed
from skyslots.events.service import event_managed
from skyslots.features.deps import requires_feature
from skyslots.validation import RowId
from skyslots.webhooks.addresses import UrlRefused, ensure_url_allowed
from skyslots.webhooks.schemas import WebhookCreate, WebhookCreated, WebhookOut, WebhookTestQueued
from skyslots.webhooks.service import (
    webhook_create,
    webhook_delete,
    webhook_test,
    webhooks_of_event,
)

router = APIRouter(prefix="/api", tags=["webhooks"], dependencies=[requires_feature("webhooks")])


@router.post("/events/{event_id}/webhooks", status_code=201)
async def create_webhook(
    event_id: RowId, data: WebhookCreate, db: DatabaseDep, settings: SettingsDep,
    user: OrganizerUser,
) -> WebhookCreated:  # fmt: skip
    """Organizer: send some of the event's changes to a URL; the signing secret is shown once."""
    await db.read(event_managed, event_id=event_id, user=user)  # 404/403 before any DNS lookup
    try:  # outside the transaction: a slow name server must not hold SQLite's write lock
        await ensure_url_allowed(data.url, allow_private=settings.webhooks_allow_private)
    except UrlRefused as refused:
        raise ValidationFailed("url", str(refused)) from None
    return await db.transaction(webhook_create, event_id=event_id, data=data, user=user)


@router.get("/events/{event_id}/webhooks")
async def list_webhooks(event_id: RowId, db: DatabaseDep, user: OrganizerUser) -> list[WebhookOut]:
    """Organizer: the event's webhook endpoints, secrets masked."""
    return await db.read(webhooks_of_event, event_id=event_id, user=user)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Response:
    """Organizer: remove an endpoint; what it had not received yet is not sent."""
    await db.transaction(webhook_delete, webhook_id=webhook_id, user=user)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/test", status_code=202)
async def test_webhook(
    webhook_id: RowId, db: DatabaseDep, user: OrganizerUser
) -> WebhookTestQueued:
    """Organizer: queue a `webhook.test` message to the endpoint (see the event's deliveries)."""
    delivery_id = await db.transaction(webhook_test, webhook_id=webhook_id, user=user)
    return WebhookTestQueued(delivery_id=delivery_id)
