"""The signed-in person's account page: download their data, delete the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import Conflict, Unauthorized
from skyslots.models import User
from skyslots.privacy.erase import me_delete
from skyslots.web.deps import CheckedForm, session_user
from skyslots.web.forms import form_values
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def signed_in(user: Annotated[User | None, Depends(session_user)]) -> User:
    """Anyone signed in; nobody is sent to sign in (401)."""
    if user is None:
        raise Unauthorized("Sign in to see your account.")
    return user


SignedIn = Annotated[User, Depends(signed_in)]


def _page(
    request: Request, user: User, *, error: str | None = None, typed: str = "", status: int = 200
) -> Response:
    context = {"user": user, "error": error, "typed": typed}
    return render(request, "account.html", context, status=status)


@router.get("/account")
async def account_page(request: Request, user: SignedIn) -> Response:
    """The account: download my data, delete my account."""
    return _page(request, user)


@router.post("/account/delete")
async def account_delete(
    request: Request, db: DatabaseDep, user: SignedIn, form: CheckedForm
) -> Response:
    """Delete the account once its email is typed (DELETE /api/me's service), then sign out."""
    typed = form_values(form, ["confirm"])["confirm"]
    if typed.lower() != user.email.lower():
        error = "Type your account's email exactly to confirm."
        return _page(request, user, error=error, status=422)
    try:
        await db.transaction(me_delete, user=user)
    except Conflict as refused:
        return _page(request, user, error=refused.detail, typed=typed, status=409)
    session = web_session(request)
    session.logout()
    session.flash("info", "Your account and personal data were deleted.")
    return RedirectResponse("/", status_code=303)
