"""The organizer's API tokens page: create one (its value shown once), see last use, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.models import TokenScope, User
from skyslots.tokens.schemas import TokenCreate
from skyslots.tokens.service import api_token_create, api_token_revoke, api_tokens_of
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.forms import FormErrors, form_values, parse
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)


async def _tokens_page(
    request: Request, db: DatabaseDep, user: User, *, status: int = 200, **extra: Any
) -> Response:
    tokens = await db.read(api_tokens_of, user=user)
    context = {
        "tokens": tokens,
        "scopes": list(TokenScope),
        "created": None,
        "values": {"scope": TokenScope.READ.value},
        "errors": {},
        **extra,
    }
    # The page that shows a new token must not be kept by the browser or a proxy.
    response = render(request, "organizer/tokens.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/tokens")
async def tokens_page(request: Request, db: DatabaseDep, user: OrganizerPage) -> Response:
    """My personal API tokens."""
    return await _tokens_page(request, db, user)


@router.post("/tokens")
async def create_token_form(
    request: Request, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Create a token and show it this once (not in a redirect: it is never stored anywhere)."""
    values = form_values(form, ["name", "scope"])
    try:
        data = parse(TokenCreate, values)
    except FormErrors as exc:
        return await _tokens_page(request, db, user, status=422, values=values, errors=exc.errors)
    created = await db.transaction(api_token_create, user=user, data=data)
    return await _tokens_page(request, db, user, status=201, created=created)


@router.post("/tokens/{token_id}/revoke")
async def revoke_token_form(
    request: Request, token_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Revoke a token: scripts using it get 401 from now on."""
    row = await db.transaction(api_token_revoke, token_id=token_id, user=user)
    web_session(request).flash("success", f"Revoked the token {row.name}.")
    return RedirectResponse("/organizer/tokens", status_code=303)
