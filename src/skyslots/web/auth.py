"""Organizer sign-in with the password account; the session lives in a signed cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep, has_organizer_duties
from skyslots.accounts.service import user_sign_in
from skyslots.ratelimit.deps import limit_signin
from skyslots.ratelimit.limiter import RateLimited
from skyslots.web.deps import CheckedForm, SessionUser
from skyslots.web.forms import form_values
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def safe_next(target: str | None, default: str = "/organizer") -> str:
    """Only a path on this site: never `//evil.example` or `https://...` (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


@router.get("/login")
async def login_page(
    request: Request, db: DatabaseDep, user: SessionUser, next: str | None = None
) -> Response:
    """The sign-in form (straight to `next` or the dashboard when already signed in; a member
    without organizer duties to the home page)."""
    if user is not None:
        default = "/organizer" if await has_organizer_duties(db, user) else "/"
        return RedirectResponse(safe_next(next, default), status_code=303)
    return render(request, "login.html", _context(next, email=""))


@router.post("/login")
async def login(request: Request, db: DatabaseDep, form: CheckedForm) -> Response:
    """Check the email and password, then start a session."""
    values = form_values(form, ["email", "password", "next"])
    context = _context(values["next"], email=values["email"])
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
    staff = await has_organizer_duties(db, user)
    session = web_session(request)
    session.login(user.id, user.name, staff=staff)
    session.flash("success", f"Welcome back, {user.name}.")
    return RedirectResponse(
        safe_next(values["next"], "/organizer" if staff else "/"), status_code=303
    )


def _context(next: str | None, *, email: str) -> dict[str, object]:
    """The form's fields; members signing in with VATSIM go back to `next` or the home page."""
    return {
        "next": safe_next(next, ""),  # empty: the dashboard for staff, else the home page
        "email": email,
        "error": None,
        "vatsim_next": safe_next(next, "/"),
    }


@router.post("/logout")
async def logout(request: Request, form: CheckedForm) -> Response:
    """End the session."""
    session = web_session(request)
    session.logout()
    session.flash("info", "You are signed out.")
    return RedirectResponse("/", status_code=303)
