"""Links in mails: a booking's or a waitlist entry's manage link without storing its token.

A mail is composed when it is delivered, long after the one-time manage token was shown, so its
link carries a token derived from the server's secret and the row (HMAC of purpose, id and the
stored token hash). Whoever holds either token manages the row; a database copy alone opens none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.security import manage_token_matches

LINK_SECRET = "link_secret"  # the session.info key Database fills with the secret key


def link_token(secret: str, *, purpose: str, row_id: int, stored_hash: str) -> str:
    message = f"{purpose}:{row_id}:{stored_hash}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def booking_link_token(session: AsyncSession, booking: Any) -> str:
    """The token of the links a booking's mails (and its calendar) carry."""
    return link_token(
        session.info[LINK_SECRET],
        purpose="booking",
        row_id=booking.id,
        stored_hash=booking.manage_token_hash,
    )


def booking_token_opens(session: AsyncSession, token: str, booking: Any) -> bool:
    """`token` manages `booking` (its manage token, or a mailed link's)."""
    return token_opens(
        session, token, stored_hash=booking.manage_token_hash, purpose="booking", row_id=booking.id
    )


def token_opens(
    session: AsyncSession, token: str, *, stored_hash: str, purpose: str, row_id: int
) -> bool:
    """`token` is the row's manage token, or the token of a link mailed for it."""
    if manage_token_matches(token, stored_hash):
        return True
    secret = session.info.get(LINK_SECRET)
    if not secret:
        return False
    expected = link_token(secret, purpose=purpose, row_id=row_id, stored_hash=stored_hash)
    return hmac.compare_digest(expected, token)
