"""Posting to a Discord webhook: no mentions ever, Discord's 429 `retry_after` honoured."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.discord.messages import discord_content, discord_embeds, discord_url
from skyslots.models import Event
from skyslots.outbox.relay import Leased, Sender
from skyslots.outbox.retry import DeliveryFailed, DeliverySkipped

TIMEOUT_SECONDS = 10.0


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.json()["retry_after"])
    except (ValueError, KeyError, TypeError):
        header = response.headers.get("retry-after")
        return float(header) if header and header.replace(".", "", 1).isdigit() else None


def discord_sender(db: Database, settings: Settings) -> Sender:
    """POST to the event's webhook as it is set now (its path on SKYSLOTS_DISCORD_API_URL)."""

    async def send(leased: Leased) -> None:
        async def read(session: AsyncSession) -> tuple[str | None, str, int]:
            url = await discord_url(session, leased.event_id)
            if url is None:
                return None, "", 0
            content = await discord_content(session, leased, public_url=settings.public_url)
            version = await session.scalar(select(Event.version).where(Event.id == leased.event_id))
            return url, content, version or 0

        url, content, version = await db.read(read)
        if url is None:
            raise DeliverySkipped("the event has no Discord webhook any more")
        target = settings.discord_api_url + urlsplit(url).path
        body: dict[str, object] = {"content": content, "allowed_mentions": {"parse": []}}
        embeds = discord_embeds(leased, public_url=settings.public_url, version=version)
        if embeds:
            body["embeds"] = embeds
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as http:
                response = await http.post(target, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"Discord unreachable: {type(exc).__name__}") from None
        if response.is_success:
            return
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryFailed(
                f"Discord answered {response.status_code}", retry_after=_retry_after(response)
            )
        raise DeliveryFailed(f"Discord answered {response.status_code}", permanent=True)

    return send
