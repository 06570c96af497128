"""The local folder's download URLs: `/files/<key>?expires=<unix s>&signature=<HMAC>` (and the
`filename` and `type` to serve it with, signed too), so an altered or expired URL gets a 403."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from urllib.parse import quote, urlencode

PURPOSE = b"skyslots.files\n"  # keeps these signatures apart from the key's other uses


def _signature(secret: str, key: str, expires: int, filename: str, content_type: str) -> str:
    message = PURPOSE + "\n".join((key, str(expires), filename, content_type)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def signed_url(
    base_url: str,
    secret: str,
    key: str,
    *,
    lifetime: float,
    filename: str | None = None,
    content_type: str | None = None,
) -> str:
    expires = math.ceil(time.time() + lifetime)
    params = {"expires": str(expires)}
    if filename:
        params["filename"] = filename
    if content_type:
        params["type"] = content_type
    params["signature"] = _signature(secret, key, expires, filename or "", content_type or "")
    return f"{base_url}/files/{quote(key)}?{urlencode(params)}"


def signature_valid(secret: str, key: str, query: Mapping[str, str]) -> bool:
    """The URL was signed by us for this key, and has not expired."""
    try:
        expires = int(query.get("expires", ""))
    except ValueError:
        return False
    if expires < time.time():
        return False
    expected = _signature(secret, key, expires, query.get("filename", ""), query.get("type", ""))
    return hmac.compare_digest(expected, query.get("signature", ""))
