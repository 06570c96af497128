"""Per request: a request id (the proxy's X-Request-ID when it is a sane token, else a new one)
bound to every log line and sent back in X-Request-ID; one access log line; the latency
histogram by route template (never the raw path, which carries ids and tokens)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from skyslots import metrics

REQUEST_ID_HEADER = b"x-request-id"
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
UNMATCHED = "<unmatched>"  # 404s and the like: one series, whatever was asked for
access_log = structlog.stdlib.get_logger("skyslots.access")


def request_id_of(scope: Scope) -> str:
    """The incoming X-Request-ID when it is a token of at most 128 of [A-Za-z0-9._-], else a
    fresh uuid4 hex."""
    for name, value in scope.get("headers") or ():
        if name == REQUEST_ID_HEADER:
            if SANE_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The matched route's template (`/api/slots/{slot_id}/book`), or UNMATCHED."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else UNMATCHED


def client_of(scope: Scope) -> str | None:
    client = scope.get("client")  # the forwarded one when ProxyHeadersMiddleware rewrote it
    return str(client[0]) if client else None


class RequestObserver:
    """Pure ASGI, so streaming responses and WebSockets pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        header = (REQUEST_ID_HEADER, request_id.encode("ascii"))
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            if scope["type"] == "websocket":
                await self.app(scope, receive, self._with_header(send, header, "websocket.accept"))
                return
            await self._http(scope, receive, send, header)

    @staticmethod
    def _with_header(send: Send, header: tuple[bytes, bytes], kind: str) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == kind:
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        return sending

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, header: tuple[bytes, bytes]
    ) -> None:
        started = time.perf_counter()
        status = 500  # until the response says otherwise (an exception escapes as a 500)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = str(scope.get("method", ""))
            metrics.http_request(method, route, status, seconds)
            fields: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client_of(scope),
            }
            if status >= 500:
                access_log.warning("request", **fields)
            else:
                access_log.info("request", **fields)
