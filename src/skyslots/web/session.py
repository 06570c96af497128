"""The web UI's cookie session: a signed cookie holding the user id, a CSRF token and flashes.

A pure ASGI middleware reads the cookie into `scope["web_session"]` and, on HTML routes, sets
`scope["session_user_id"]` (which `accounts.deps.optional_user` honours). On the JSON API the
cookie only counts for safe methods or with a matching `X-CSRF-Token` header, so a cross-site
form can never act with it; bearer-token clients are unaffected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "skyslots_session"
CSRF_HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIXES = ("/api/", "/ws/")


@dataclass
class WebSession:
    """One browser's session; `changed` makes the middleware write the cookie back."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    user_id: int | None = None
    user_name: str = ""
    # False for a member without organizer duties at sign-in: the header hides the dashboard.
    staff: bool = True
    flashes: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False
    fresh: bool = True

    @property
    def csrf_token(self) -> str:
        """The token forms embed; a fresh session is saved once a form has used it."""
        if self.fresh:
            self.changed = True
        return self.csrf

    def csrf_matches(self, candidate: str | None) -> bool:
        return bool(candidate) and not self.fresh and hmac.compare_digest(candidate, self.csrf)

    def login(self, user_id: int, name: str, *, staff: bool = True) -> None:
        """Sign in with a new CSRF token (no token fixation across the login)."""
        self.user_id, self.user_name, self.staff = user_id, name, staff
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def logout(self) -> None:
        self.user_id, self.user_name, self.staff = None, "", True
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def flash(self, kind: str, text: str) -> None:
        self.flashes.append((kind, text))
        self.changed = True

    def pop_flashes(self) -> list[tuple[str, str]]:
        flashes, self.flashes = self.flashes, []
        if flashes:
            self.changed = True
        return flashes


class SessionCodec:
    """Signs and reads the cookie value: base64url(JSON) + "." + base64url(HMAC-SHA256)."""

    def __init__(self, secret_key: str, max_age: int) -> None:
        self._key = hmac.new(secret_key.encode(), b"skyslots web session", hashlib.sha256).digest()
        self.max_age = max_age

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def dumps(self, session: WebSession) -> str:
        data = {
            "c": session.csrf,
            "u": session.user_id,
            "n": session.user_name,
            "f": session.flashes,
            **({} if session.staff else {"m": 1}),
            "e": int(time.time()) + self.max_age,
        }
        payload = json.dumps(data, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def loads(self, value: str | None) -> WebSession:
        """The session in a valid, unexpired cookie, else a fresh one."""
        try:
            encoded, signature = (value or "").split(".", 1)
            payload = _unb64(encoded)
            if not hmac.compare_digest(signature, self._sign(payload)):
                return WebSession()
            data: dict[str, Any] = json.loads(payload)
            if int(data["e"]) < time.time():
                return WebSession()
            return WebSession(
                csrf=str(data["c"]),
                user_id=int(data["u"]) if data.get("u") is not None else None,
                user_name=str(data.get("n", "")),
                staff=not data.get("m"),
                flashes=[(str(k), str(t)) for k, t in data.get("f", [])],
                fresh=False,
            )
        except (ValueError, KeyError, TypeError):
            return WebSession()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class SessionMiddleware:
    """Loads the session for each HTTP request and writes the cookie back when it changed."""

    def __init__(
        self, app: ASGIApp, *, secret_key: str, max_age: int, https_only: bool = False
    ) -> None:
        self.app = app
        self.codec = SessionCodec(secret_key, max_age)
        self.https_only = https_only  # production: Secure even if a proxy forgot X-Forwarded-Proto

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = SimpleCookie(_header(scope, b"cookie") or "")
        morsel = cookies.get(COOKIE_NAME)
        session = self.codec.loads(morsel.value if morsel else None)
        scope["web_session"] = session
        if session.user_id is not None and self._cookie_counts(scope, session):
            scope["session_user_id"] = session.user_id

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                headers = MutableHeaders(scope=message)
                headers.append("Set-Cookie", self._cookie(scope, session))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    @staticmethod
    def _cookie_counts(scope: Scope, session: WebSession) -> bool:
        path: str = scope.get("path", "")
        if not path.startswith(API_PREFIXES) or scope.get("method") in SAFE_METHODS:
            return True
        header = _header(scope, CSRF_HEADER)
        return header is not None and hmac.compare_digest(header, session.csrf)

    def _cookie(self, scope: Scope, session: WebSession) -> str:
        secure = "; Secure" if self.https_only or scope.get("scheme") == "https" else ""
        return (
            f"{COOKIE_NAME}={self.codec.dumps(session)}; Path=/; Max-Age={self.codec.max_age}; "
            f"HttpOnly; SameSite=Lax{secure}"
        )
