"""`Idempotency-Key` on the booking writes: the first response is kept 24 h and replayed for the
same key and request; another request with the key is 422, a key whose request still runs 409."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skyslots.db import Database
from skyslots.idempotency.store import Begun, InFlight, Mismatch, Replay, abandon, begin, finish

HEADER = "idempotency-key"
# POST routes that take a key: book, hold, waitlist join, release, accept (API and pages).
ROUTES = re.compile(
    r"^/api/slots/\d+/(book|hold)$|^/api/events/\d+/waitlist$|^/api/bookings/\d+/release$"
    r"|^/api/waitlist/\d+/accept$"
)
# Request headers that make two requests different even with the same body.
_IDENTITY = ("authorization", "x-manage-token", "x-hold-token")
_NOT_KEPT = {429}  # refused before it ran: a retry later should run


def answer_sealer(secret_key: str) -> Fernet:
    """Kept answers are encrypted: a booking's carries its manage token, stored nowhere else
    in the clear."""
    key = hmac.new(secret_key.encode(), b"idempotency-responses", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _error(status: int, detail: str, code: str) -> Response:
    return JSONResponse({"detail": detail, "code": code}, status_code=status)


def _fingerprint(scope: Scope, headers: Headers, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
        digest.update(part.encode() + b"\0")
    for name in _IDENTITY:
        digest.update(headers.get(name, "").encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sealers: dict[str, Fernet] = {}

    def _seal(self, scope: Scope) -> Fernet:
        secret: str = scope["app"].state.settings.secret_key
        if secret not in self._sealers:
            self._sealers[secret] = answer_sealer(secret)
        return self._sealers[secret]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not ROUTES.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 200 or not key.isprintable():
            await _error(422, "Idempotency-Key must be 1 to 200 printable characters.",
                         "validation_error")(scope, receive, send)  # fmt: skip
            return
        body = await _read_body(receive)
        db: Database = scope["app"].state.database
        outcome = await begin(
            db,
            key=key,
            path=f"POST {scope['path']}",
            fingerprint=_fingerprint(scope, headers, body),
        )
        if isinstance(outcome, Mismatch):
            response = _error(422, "This Idempotency-Key was used with another request.",
                              "idempotency_mismatch")  # fmt: skip
        elif isinstance(outcome, InFlight):
            response = _error(409, "The first request with this Idempotency-Key is still running;"
                              " retry in a moment.", "idempotency_in_flight")  # fmt: skip
        elif isinstance(outcome, Replay):
            try:
                kept = self._seal(scope).decrypt(outcome.body.encode())
            except InvalidToken:  # the secret key changed since: the answer cannot be given
                kept = None
            if kept is None:
                response = _error(409, "This Idempotency-Key was used before; its answer is no"
                                  " longer available.", "idempotency_mismatch")  # fmt: skip
            else:
                response = Response(kept, status_code=outcome.status,
                                    media_type=outcome.media_type,
                                    headers={"Idempotent-Replayed": "true"})  # fmt: skip
        else:
            await self._run(outcome, db, scope, body, send)
            return
        await response(scope, receive, send)

    async def _run(self, begun: Begun, db: Database, scope: Scope, body: bytes, send: Send) -> None:
        """Run the request; keep its response (kept in full: these answers are small)."""
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, replay_body, keep)
        except BaseException:
            await abandon(db, begun)
            raise
        assert start is not None
        status, content = int(start["status"]), b"".join(chunks)
        media_type = Headers(raw=start.get("headers", [])).get("content-type")
        if status >= 500 or status in _NOT_KEPT:
            await abandon(db, begun)
        else:
            sealed = self._seal(scope).encrypt(content).decode()
            await finish(db, begun, status=status, body=sealed, media_type=media_type)
        await send(start)
        await send({"type": "http.response.body", "body": content, "more_body": False})


__all__ = ["HEADER", "ROUTES", "IdempotencyMiddleware"]
