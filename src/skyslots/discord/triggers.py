"""When the channel hears from SkySlots: a slot free again within a day of the event, and a
summary at each of the event's reminder moments before it starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import Event, EventStatus, OutboxMessage
from skyslots.models.event import MAX_REMINDER_MINUTES
from skyslots.outbox.service import outbox_add
from skyslots.reminders.due import due_offset
from skyslots.slots.service import slot_label

FREE_SLOT_WINDOW = timedelta(hours=24)


async def announce_free_slot(
    session: AsyncSession, *, context: Row[Any], freed: int, now: datetime
) -> None:
    """A claim or offer ended and nobody took the slot over: tell the channel, if the event is
    within a day and has one."""
    if not context.has_discord or context.status != EventStatus.PUBLISHED:
        return
    if not context.event_start - FREE_SLOT_WINDOW <= now < context.end_datetime:
        return
    await outbox_add(
        session,
        kind="discord.slot_free",
        target="discord",
        payload={"slot_id": context.id, "label": slot_label(context)},
        dedupe_key=f"discord.slot_free:{context.id}:{freed}",
        event_id=context.event_id,
    )


async def summaries_due(session: AsyncSession, *, now: datetime) -> int:
    """Write the channel summaries due now (one per event and reminder offset)."""
    events = await session.execute(
        select(
            Event.id, Event.start_datetime, Event.created_at, Event.reminder_offsets_minutes
        ).where(
            Event.discord_webhook_url.is_not(None),
            Event.status == EventStatus.PUBLISHED,
            Event.start_datetime > now,
            Event.start_datetime <= now + timedelta(minutes=MAX_REMINDER_MINUTES),
        )
    )
    wanted = {}
    for event in events:
        offset = due_offset(
            list(event.reminder_offsets_minutes),
            start=event.start_datetime,
            claimed_at=event.created_at,
            now=now,
        )
        if offset is not None:
            wanted[f"discord.summary:{event.id}:{offset}"] = (event.id, offset)
    if not wanted:
        return 0
    written = set(
        await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(wanted)))
        )
    )
    for key, (event_id, offset) in wanted.items():
        if key not in written:
            await outbox_add(
                session,
                kind="discord.summary",
                target="discord",
                payload={"offset_minutes": offset},
                dedupe_key=key,
                event_id=event_id,
            )
    return len(set(wanted) - written)
