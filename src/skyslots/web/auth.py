"""Organizer sign-in with the password account; the session lives in a signed cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.accounts.service import user_sign_in
from skyslots.ratelimit.deps import limit_signin
from skyslots.ratelimit.limiter import RateLimited
from skyslots.web.deps import CheckedForm, SessionUser
from skyslots.web.forms import form_values
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://...` (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/organizer"


@router.get("/login")
async def login_page(request: Request, user: SessionUser, next: str | None = None) -> Response:
    """The sign-in form (straight to the dashboard when already signed in)."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login")
async def login(request: Request, db: DatabaseDep, form: CheckedForm) -> Response:
    """Check the email and password, then start a session."""
    values = form_values(form, ["email", "password", "next"])
    context = {"next": safe_next(values["next"]), "email": values["email"]}
    try:
        await limit_signin(request, values["email"])
    except RateLimited as refused:
        context["error"] = f"Too many sign-in attempts; try again in {refused.retry_after} s."
        page = render(request, "login.html", context, status=429)
        page.headers.update(refused.headers())
        return page
    user = await user_sign_in(db, email=values["email"], password=values["password"])
    if user is None or user.id is None:
        context["error"] = "Wrong email or password."
        return render(request, "login.html", context, status=401)
    session = web_session(request)
    session.login(user.id, user.name)
    session.flash("success", f"Welcome back, {user.name}.")
    return RedirectResponse(safe_next(values["next"]), status_code=303)


@router.post("/logout")
async def logout(request: Request, form: CheckedForm) -> Response:
    """End the session."""
    session = web_session(request)
    session.logout()
    session.flash("info", "You are signed out.")
    return RedirectResponse("/", status_code=303)
