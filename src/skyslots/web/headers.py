"""Security headers on every response: a Content-Security-Policy without inline scripts,
no framing, no MIME sniffing, no referrer to other sites, and HSTS in production."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Styles may be inline (the roster's meters set widths in style attributes); scripts may not.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The API docs pages load Swagger UI / ReDoc from jsDelivr and start it with one inline script,
# allowed by its nonce.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' {cdn} 'nonce-{nonce}'; style-src 'self' {cdn}"
    " https://fonts.googleapis.com 'unsafe-inline'; font-src 'self' https://fonts.gstatic.com;"
    " img-src 'self' data: https://fastapi.tiangolo.com {cdn}; connect-src 'self';"
    " worker-src blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if self.production:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)


def _with_nonce(page: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(
        html, headers={"Content-Security-Policy": DOCS_POLICY.format(cdn=DOCS_CDN, nonce=nonce)}
    )


def install_docs(app: FastAPI) -> None:
    """/docs and /redoc (the app is made with docs_url=None, redoc_url=None) under a CSP."""

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        return _with_nonce(get_swagger_ui_html(openapi_url="/openapi.json", title="SkySlots API"))

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return _with_nonce(get_redoc_html(openapi_url="/openapi.json", title="SkySlots API"))
