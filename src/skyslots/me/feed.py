"""The personal calendar feed's secret address: `<user id>-<HMAC of (user id, serial)>`.

Nothing secret is stored: the user row keeps only `calendar_feed_serial`; a new serial (a random
number, so a turned-off feed's old address never comes back) revokes every earlier address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from skyslots.me.schemas import CalendarFeed

TOKEN = re.compile(r"^([1-9][0-9]{0,11})-([A-Za-z0-9_-]{32})$")
SERIAL_MAX = 2**31 - 1


def new_serial(current: int | None) -> int:
    """A fresh serial, never the current one."""
    while True:
        serial = secrets.randbelow(SERIAL_MAX) + 1
        if serial != current:
            return serial


def _signature(user_id: int, serial: int, secret: str) -> str:
    digest = hmac.new(
        secret.encode(), f"calendar-feed:{user_id}:{serial}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def feed_token(user_id: int, serial: int, *, secret: str) -> str:
    return f"{user_id}-{_signature(user_id, serial, secret)}"


def token_user_id(token: str) -> tuple[int, str] | None:
    """The user id and signature a well-formed token carries (None: not a feed token)."""
    match = TOKEN.match(token)
    return (int(match.group(1)), match.group(2)) if match else None


def signature_matches(signature: str, *, user_id: int, serial: int | None, secret: str) -> bool:
    """Constant-time: the signature is this user's current feed's."""
    if serial is None:
        return False
    return hmac.compare_digest(signature, _signature(user_id, serial, secret))


def feed_path(token: str) -> str:
    return f"/api/me/calendar/{token}.ics"


def feed_urls(*, public_url: str, secret: str, user_id: int, serial: int) -> CalendarFeed:
    """The feed's address on the site's public URL, and its webcal:// twin."""
    url = f"{public_url}{feed_path(feed_token(user_id, serial, secret=secret))}"
    return CalendarFeed(url=url, webcal_url="webcal://" + url.split("://", 1)[-1])
