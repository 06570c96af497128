"""Jinja2 templates (autoescaped), their filters, and the page route that renders errors as HTML."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.templating import Jinja2Templates

from skyslots.errors import SkySlotsError, Unauthorized
from skyslots.web.markdown import render_markdown
from skyslots.web.session import WebSession

STATIC_FILES = ("app.css", "app.js", "exports.js")
# Pages load only their own script and styles; a manage link's token never leaks in a Referer.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
TIME_FORMATS = {
    "hm": "%H%Mz",
    "date": "%a %d %b %Y",
    "day": "%a %d %b",
    "full": "%a %d %b %Y %H%Mz",
    "stamp": "%Y-%m-%d %H:%M:%Sz",
}


def zulu(moment: datetime | None, style: str = "full") -> str:
    """A UTC time the way VATSIM writes it: `1800z`, `Thu 26 Nov 2026 1800z`."""
    return moment.strftime(TIME_FORMATS[style]) if moment else ""


@lru_cache(maxsize=1)
def static_version() -> str:
    """A short hash of the static files, appended to their URLs so browsers refetch on change."""
    digest = hashlib.sha256()
    for name in STATIC_FILES:
        digest.update(resources.files("skyslots").joinpath("static", name).read_bytes())
    return digest.hexdigest()[:10]


def webcal(request: Request, path: str) -> str:
    """A calendar subscription link (webcal://) to `path` on the site's public address."""
    base: str = request.app.state.settings.public_url
    return "webcal://" + base.split("://", 1)[-1] + path


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("skyslots", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["zulu"] = zulu
    env.filters["markdown"] = render_markdown
    env.globals["static_version"] = static_version
    env.globals["webcal"] = webcal
    return env


templates = Jinja2Templates(env=_environment())


def web_session(request: Request) -> WebSession:
    """The session the middleware loaded (a throwaway one if it is not installed)."""
    session = request.scope.get("web_session")
    if session is None:
        session = request.scope["web_session"] = WebSession()
    return session


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> Response:
    """Render a page with what every page needs: the session's user, CSRF token and flashes."""
    session = web_session(request)
    base = {
        "session": session,
        "signed_in": session.user_id is not None
        and request.scope.get("session_user_id") is not None,
        "flashes": session.pop_flashes(),
        "path": request.url.path,
        "vatsim_sign_in": request.app.state.settings.vatsim_enabled,
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status, headers=SECURITY_HEADERS
    )


def error_page(request: Request, exc: SkySlotsError) -> Response:
    """A domain error as a page; a missing sign-in sends the browser to the login form."""
    if isinstance(exc, Unauthorized):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":  # a form posted after the session expired: start over
            target = "/organizer"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    page = render(request, "error.html", {"error": exc}, status=exc.status_code)
    page.headers.update(exc.headers() or {})
    return page


def http_error_page(
    request: Request, status: int, detail: str, headers: dict[str, str]
) -> Response:
    """Starlette's errors (no such page, a wrong method) as the same error page."""
    error = SkySlotsError(detail)
    error.status_code = status
    page = render(request, "error.html", {"error": error}, status=status)
    page.headers.update(headers)
    return page


class PageRoute(APIRoute):
    """A route whose domain errors become HTML pages instead of the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SkySlotsError as exc:
                return error_page(request, exc)

        return page_handler
