"""Delivering a webhook row: a signed POST of the stored message, the answer judged.

2xx: delivered. Network errors, timeouts, 5xx and 429: tried again (after `Retry-After` if the
receiver gave one). 410: the endpoint is disabled. Any other answer, a redirect included (none is
followed), or an address refused at delivery time: dead. Nothing here logs the URL or the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.config import Settings
from skyslots.db import Database, json_dumps, utcnow
from skyslots.models import WebhookEndpoint
from skyslots.outbox.relay import Leased, Sender
from skyslots.outbox.retry import DeliveryFailed
from skyslots.webhooks.addresses import UrlRefused, ensure_url_allowed
from skyslots.webhooks.service import webhook_disable
from skyslots.webhooks.signing import signed_headers

TIMEOUT_SECONDS = 10.0
USER_AGENT = "SkySlots-Webhooks/1"


@dataclass(frozen=True)
class Destination:
    url: str
    secret: str
    disabled: bool


async def _destination(session: AsyncSession, endpoint_id: int) -> Destination | None:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        return None
    return Destination(endpoint.url, endpoint.secret, endpoint.disabled_at is not None)


def retry_after(response: httpx.Response, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (given as seconds or as an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - (now or utcnow())).total_seconds(), 0.0)


def webhook_sender(db: Database, settings: Settings) -> Sender:
    """POST the row's message to its endpoint as the endpoint is now."""

    async def send(leased: Leased) -> None:
        endpoint_id = int(leased.target)
        destination = await db.read(_destination, endpoint_id)
        if destination is None:
            raise DeliveryFailed("the endpoint was deleted", permanent=True)
        if destination.disabled:
            raise DeliveryFailed("the endpoint is disabled", permanent=True)
        try:  # again now: the name may point elsewhere than when the endpoint was made
            await ensure_url_allowed(destination.url, allow_private=settings.webhooks_allow_private)
        except UrlRefused as refused:
            raise DeliveryFailed(str(refused), permanent=not refused.retryable) from None
        body = json_dumps(leased.payload)
        headers = signed_headers(
            secret=destination.secret, message_id=leased.payload["id"], body=body, at=utcnow()
        )
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as http:
                response = await http.post(destination.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:  # the text may hold the URL: only the error's type
            raise DeliveryFailed(f"receiver unreachable: {type(exc).__name__}") from None
        status = response.status_code
        if response.is_success:
            return
        reason = f"receiver answered {status}"
        if status == 410:
            await db.transaction(
                webhook_disable, webhook_id=endpoint_id, reason=reason, delivery_id=leased.id
            )
            raise DeliveryFailed(f"{reason}: endpoint disabled", permanent=True)
        if status == 429 or status >= 500:
            raise DeliveryFailed(reason, retry_after=retry_after(response))
        raise DeliveryFailed(reason, permanent=True)  # 3xx (not followed) and other 4xx

    return send
