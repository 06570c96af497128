"""Posting to a Discord webhook: no mentions ever, Discord's 429 `retry_after` honoured."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database
from skyslots.discord.messages import discord_content, discord_url
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
        async def read(session: AsyncSession) -> tuple[str | None, str]:
            url = await discord_url(session, leased.event_id)
            if url is None:
                return None, ""
            return url, await discord_content(session, leased, public_url=settings.public_url)

        url, content = await db.read(read)
        if url is None:
            raise DeliverySkipped("the event has no Discord webhook any more")
        target = settings.discord_api_url + urlsplit(url).path
        body = {"content": content, "allowed_mentions": {"parse": []}}
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
