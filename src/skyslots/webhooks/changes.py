"""The webhook messages of roster changes, built from the slot context the change has in hand."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.slots.schemas import SlotOut
from skyslots.slots.service import slot_label
from skyslots.webhooks.fanout import webhooks_fan_out


def wants_webhooks(context: Row[Any]) -> bool:
    """False when a slot context (bookings.repository) says its event has no enabled endpoint."""
    return bool(context._mapping.get("has_webhooks", True))


def slot_of(context: Row[Any]) -> dict[str, Any]:
    """The public fields of the slot in a slot context, and its label (`EGLL_TWR 1800-2000z`)."""
    values = context._mapping
    return {key: values[key] for key in SlotOut.model_fields} | {"label": slot_label(context)}


def booking_fields(
    *, id: int, callsign: str | None, name: str, status: str, claimed_at: datetime | None
) -> dict[str, Any]:
    """A booking as webhook messages show it (its email apart: see `booking_webhook`)."""
    return {
        "id": id,
        "pilot_callsign": callsign,
        "pilot_name": name,
        "status": status,
        "claimed_at": claimed_at,
    }


async def booking_webhook(
    session: AsyncSession,
    *,
    context: Row[Any],
    type: str,
    booking: Mapping[str, Any],
    email: str | None,
    extra: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Queue `type` about `booking` on the slot of `context` (a bookings.repository slot context);
    nothing is read when the context says the event has no enabled endpoint."""
    if not wants_webhooks(context):
        return
    common = {"slot": slot_of(context), **(extra or {})}
    await webhooks_fan_out(
        session,
        event_id=context.event_id,
        type=type,
        data={"booking": dict(booking), **common},
        data_with_email={"booking": {**booking, "email": email}, **common},
        now=now,
    )
