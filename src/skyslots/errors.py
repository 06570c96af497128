"""Domain errors carry an HTTP status, a machine code and a human reason; handlers render them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from skyslots.storage.base import StorageUnavailable

log = logging.getLogger(__name__)


class SkySlotsError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code}

    def headers(self) -> dict[str, str] | None:
        return None


class NotFound(SkySlotsError):
    status_code = 404
    code = "not_found"


class Conflict(SkySlotsError):
    status_code = 409
    code = "conflict"


class Forbidden(SkySlotsError):
    status_code = 403
    code = "forbidden"


class Unauthorized(SkySlotsError):
    status_code = 401
    code = "not_authenticated"

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class TooLarge(SkySlotsError):
    status_code = 413
    code = "too_large"


class UnsupportedMediaType(SkySlotsError):
    status_code = 415
    code = "unsupported_media_type"


class ValidationFailed(SkySlotsError):
    """A rule only the database can check (a slot outside its event); shaped like other 422s."""

    status_code = 422
    code = "validation_error"

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = ("body", *((field,) if isinstance(field, str) else field))

    def body(self) -> dict[str, Any]:
        return {
            "detail": [{"loc": list(self.loc), "msg": self.detail, "type": "value_error"}],
            "code": self.code,
        }


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SkySlotsError)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


async def _request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
    return JSONResponse(
        jsonable_encoder({"detail": errors, "code": "validation_error"}), status_code=422
    )


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return JSONResponse(
        {"detail": "The database is busy or unavailable; please retry.", "code": "unavailable"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def _storage_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.error("storage unavailable: %s", exc)
    return JSONResponse(
        {"detail": "The file storage is unavailable; please retry.", "code": "storage_unavailable"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


# Starlette's own errors (no route, wrong method, an unreadable body) get a code like ours.
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
# Renders an HTTP error as a page (status, detail, headers) for paths outside /api.
PageRenderer = Callable[[Request, int, str, dict[str, str]], Awaitable[Response] | Response]


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (routes are split per method)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and route.methods:
            methods |= set(route.methods)
    return sorted(methods | {"OPTIONS"}) if methods else []


def _http_error_handler(page: PageRenderer | None) -> Callable[..., Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status, headers = exc.status_code, dict(exc.headers or {})
        if status == 405:
            allow = allowed_methods(request)
            headers["Allow"] = ", ".join(allow)
            if request.method == "OPTIONS":  # what the resource supports, not an error
                return Response(status_code=204, headers=headers)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if status == 404 and detail == "Not Found":
            detail = f"No such address: {request.url.path}."
        elif status == 405:
            detail = f"{request.method} is not allowed here; use {headers['Allow']}."
        if page is not None and not request.url.path.startswith("/api/"):
            result = page(request, status, detail, headers)
            return await result if isinstance(result, Awaitable) else result
        code = HTTP_CODES.get(status, f"http_{status}")
        return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)

    return handle


def install_error_handlers(app: FastAPI, *, page: PageRenderer | None = None) -> None:
    """JSON errors `{"detail", "code"}` for the API; `page` renders the others' HTTP errors."""
    app.add_exception_handler(SkySlotsError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error_handler(page))
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    app.add_exception_handler(StorageUnavailable, _storage_unavailable)
