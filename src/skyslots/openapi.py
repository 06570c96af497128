"""The OpenAPI document as the server behaves: every error a route can answer, in one shape.

FastAPI documents a route's success and its 422. Everything else is derived here, once, from
what each route depends on, so a new route is documented without per-route work:

- a path parameter (an id)                       -> 404
- a request body                                 -> 400 (unreadable body), 422
- the bearer/session user (`optional_user`)      -> 401, 403 (also a read-only API token's write)
- a token header or query parameter (`*token*`)  -> 403 (a wrong token)
- a write (POST, PATCH, PUT, DELETE)             -> 409 (a conflict with the current state)
- the booking-write rate limit                   -> 429
- the database                                   -> 503 (busy or unreachable; retry)

A route adds statuses of its own with `responses={413: {}}`; each gets the error schema too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from skyslots.accounts.deps import get_database, optional_user
from skyslots.ratelimit.deps import limit_booking_write

WRITES = {"POST", "PATCH", "PUT", "DELETE"}
DESCRIPTIONS = {
    400: "The request body could not be read (`bad_request`).",
    401: "Not signed in, or the token is invalid, expired or revoked "
    "(`not_authenticated`, `invalid_token`, `token_revoked`, `invalid_credentials`).",
    403: "Signed in but not allowed (`not_organizer`, `not_owner`, `token_scope`, "
    "`login_required`), or a wrong manage, hold or waitlist token (`bad_token`).",
    404: "No such resource, or not one you may see (`*_not_found`).",
    409: "A conflict with the current state, e.g. `slot_taken`, `callsign_taken`, "
    "`rating_too_low`; `detail` says why.",
    413: "The upload is too large (`too_large`).",
    415: "The upload's content type is not accepted (`unsupported_media_type`).",
    422: "The request is not valid (`validation_error`, with one entry per problem in "
    "`detail`), including rules JSON Schema cannot express: time ordering, a slot of "
    "another event.",
    429: "Too many requests (`rate_limited`); `Retry-After` says when to try again.",
    503: "The database or the file storage is busy or unavailable (`unavailable`, "
    "`storage_unavailable`); retry after `Retry-After` seconds.",
}


class ValidationIssue(BaseModel):
    loc: list[str | int] = Field(description="where: `body`, `path`, `query` or `header`, then")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error the API answers: a human `detail` (or one entry per invalid field) and a
    machine `code`. Some errors add fields (an import's `errors`, a hold's `expires_at`)."""

    model_config = ConfigDict(extra="allow", title="ErrorOut")

    detail: str | list[ValidationIssue]
    code: str = Field(examples=["slot_taken"])


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _flat_params(dependant: Dependant, kind: str) -> Iterator[Any]:
    yield from getattr(dependant, kind)
    for sub in dependant.dependencies:
        yield from _flat_params(sub, kind)


def error_statuses(dependant: Dependant, method: str, declared: set[int]) -> set[int]:
    """The error statuses a route answers, from what it depends on (see the module's doc)."""
    calls = set(_calls(dependant))
    params = {
        kind: list(_flat_params(dependant, kind))
        for kind in ("path_params", "query_params", "header_params", "body_params")
    }
    statuses = {s for s in declared if s >= 400}
    if any(params.values()):
        statuses.add(422)
    if params["body_params"]:
        statuses.add(400)
    if params["path_params"]:
        statuses.add(404)
    if optional_user in calls:
        statuses |= {401, 403}
    named = [p.alias for p in (*params["header_params"], *params["query_params"])]
    if any("token" in name.lower() for name in named):
        statuses.add(403)
    if method in WRITES:
        statuses.add(409)
    if limit_booking_write in calls:
        statuses.add(429)
    if get_database in calls:
        statuses.add(503)
    return statuses


def _error_response(existing: dict[str, Any] | None, status: int) -> dict[str, Any]:
    response = dict(existing or {})
    described = response.get("description")
    if not described or described in ("Validation Error", "Additional Response"):
        response["description"] = DESCRIPTIONS.get(status, "An error.")
    content = response.get("content") or {}
    json_content = content.get("application/json") or {}
    schema = json_content.get("schema")
    if not schema or schema.get("$ref", "").endswith("/HTTPValidationError"):
        content = {**content, "application/json": {"schema": {"$ref": REF}}}
    response["content"] = content
    return response


REF = "#/components/schemas/ErrorOut"


def document_errors(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    """Add every error status each API route can answer to `schema`, with the ErrorOut shape."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorOut"] = error_schema
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not getattr(route, "include_in_schema", False):
            continue
        path = schema["paths"].get(route.path_format)
        for method in route.methods or ():
            operation = (path or {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(s) for s in responses if s.isdigit()}
            for status in sorted(error_statuses(dependant, method, declared)):
                responses[str(status)] = _error_response(responses.get(str(status)), status)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and unused not in str(schema["paths"]):
            del components[unused]
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve /openapi.json with the errors documented (after every router is included)."""
    generate = app.openapi

    def documented() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(app, generate())
        return app.openapi_schema

    app.openapi = documented  # type: ignore[method-assign]
