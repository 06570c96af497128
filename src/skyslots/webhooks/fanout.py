"""Fan-out: one outbox row per enabled endpoint of the event subscribed to a change's type,
written in the change's own transaction (a rolled-back change sends nothing).

The body is the Standard Webhooks message, stored whole in the row so every retry sends the same
bytes under the same `webhook-id`: `{type, id, created_at, event: {...}, data: {...}}`. Bookers'
emails (in `data_with_email`) go only to endpoints created with `include_email`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import utcnow
from skyslots.features.service import feature_on
from skyslots.models import Event, WebhookEndpoint
from skyslots.outbox.service import outbox_add

KIND = "webhook"
_endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]
EVENT_FIELDS = (
    _events.c.id,
    _events.c.title,
    _events.c.status,
    _events.c.airport_icao,
    _events.c.start_datetime,
    _events.c.end_datetime,
)


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def event_of(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "airport_icao": row["airport_icao"],
        "start_datetime": row["start_datetime"],
        "end_datetime": row["end_datetime"],
    }


def message(
    *, type: str, event: Mapping[str, Any], data: Mapping[str, Any], at: datetime, message_id: str
) -> dict[str, Any]:
    """A Standard Webhooks message body, as JSON-ready values."""
    body = {
        "type": type,
        "id": message_id,
        "created_at": at,
        "event": event_of(event),
        "data": dict(data),
    }
    return to_jsonable_python(body)  # type: ignore[no-any-return]


async def _subscribed(session: AsyncSession, event_id: int, type: str) -> list[Row[Any]]:
    connection = await session.connection()
    rows = await connection.execute(
        select(_endpoints.c.id.label("endpoint_id"), _endpoints.c.event_types,
               _endpoints.c.include_email, *EVENT_FIELDS)
        .join_from(_endpoints, _events, _events.c.id == _endpoints.c.event_id)
        .where(_endpoints.c.event_id == event_id, _endpoints.c.disabled_at.is_(None))
        .order_by(_endpoints.c.id)
    )  # fmt: skip
    # Filtered here: a JSON list is searched differently by each engine, and endpoints are few.
    return [row for row in rows if type in row.event_types]


async def webhooks_fan_out(
    session: AsyncSession,
    *,
    event_id: int,
    type: str,
    data: Mapping[str, Any],
    data_with_email: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> int:
    """Queue `type` with `data` for each subscribed endpoint of the event; how many were queued.

    Call it before the roster journal step (which holds the event's row lock until commit).
    """
    if not await feature_on(session, "webhooks"):  # the flag off: nothing is queued
        return 0
    endpoints = await _subscribed(session, event_id, type)
    if not endpoints:
        return 0
    message_id, at = new_message_id(), now or utcnow()
    for endpoint in endpoints:
        shown = data_with_email if endpoint.include_email and data_with_email else data
        await outbox_add(
            session,
            kind=KIND,
            target=str(endpoint.endpoint_id),
            payload=message(
                type=type, event=endpoint._mapping, data=shown, at=at, message_id=message_id
            ),
            dedupe_key=f"webhook:{endpoint.endpoint_id}:{message_id}",
            event_id=event_id,
        )
    return len(endpoints)
