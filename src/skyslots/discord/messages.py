"""What the channel reads: a summary before the event (who holds what), a slot free again."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.models import Event
from skyslots.outbox.relay import Leased
from skyslots.outbox.retry import DeliverySkipped
from skyslots.slots.repository import ROSTER_ORDER, public_slots_select, slots_table
from skyslots.slots.service import slot_label

MAX_CHARS = 2000  # Discord's limit for a message's content
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<-])")


def escaped(text: str) -> str:
    """User text shown literally: no bold, links or headings made from a pilot's name."""
    return _MARKDOWN.sub(r"\\\1", text)


def before_text(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days > 1 else "")
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


async def discord_content(session: AsyncSession, leased: Leased, *, public_url: str) -> str:
    event = await session.get(Event, leased.event_id)
    if event is None:
        raise DeliverySkipped("the event no longer exists")
    link = f"{public_url}/events/{event.id}"
    if leased.kind == "discord.slot_free":
        return f"{escaped(leased.payload['label'])} is free again: {link}"
    rows = (
        await session.execute(
            public_slots_select().where(slots_table.c.event_id == event.id).order_by(*ROSTER_ORDER)
        )
    ).all()
    lines = [
        f"**{escaped(event.title)}** starts in {before_text(leased.payload['offset_minutes'])}"
        f" ({event.start_datetime:%Y-%m-%d %H%M}z). Who holds what:"
    ]
    free = 0
    for row in rows:
        if row.occupant_status == "claimed":
            holder = f"{escaped(row.occupant_callsign)} ({escaped(row.occupant_name or '')})"
            lines.append(f"- {escaped(slot_label(row))}: {holder}")
        else:
            free += 1
    if free:
        lines.append(f"{free} slot{'s' if free != 1 else ''} still free: {link}")
    content = "\n".join(lines)
    if len(content) > MAX_CHARS:
        content = content[: MAX_CHARS - len(link) - 8].rsplit("\n", 1)[0] + f"\n… {link}"
    return content


async def discord_url(session: AsyncSession, event_id: int | None) -> str | None:
    return await session.scalar(select(Event.discord_webhook_url).where(Event.id == event_id))


def discord_embeds(leased: Leased, *, public_url: str, version: int) -> list[dict[str, object]]:
    """The summary's picture: the roster image (its stable address; `v` makes Discord fetch the
    one of this roster version rather than a cached older one)."""
    if leased.kind != "discord.summary" or leased.event_id is None:
        return []
    image = f"{public_url}/api/events/{leased.event_id}/roster.png?v={version}"
    return [{"image": {"url": image}}]
