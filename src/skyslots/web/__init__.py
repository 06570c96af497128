"""The web UI: Jinja2 pages over the REST API's services, a cookie session, static files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from skyslots.config import Settings
from skyslots.web import (
    account,
    airports,
    auth,
    manage,
    my_bookings,
    organizer,
    organizer_deliveries,
    organizer_exports,
    organizer_locks,
    organizer_roster,
    organizer_slots,
    organizer_team,
    organizer_tokens,
    organizer_tools,
    organizer_waitlist,
    privacy,
    public,
    vatsim,
    waitlist,
)
from skyslots.web.session import SessionMiddleware


def install_web(app: FastAPI, settings: Settings) -> None:
    """Add the pages, /api/airports, /static and the session middleware to the app."""
    modules = (airports, public, manage, auth, organizer, organizer_slots, organizer_locks)
    pages = (organizer_tools, organizer_roster, organizer_waitlist, organizer_deliveries, waitlist)
    pages = (*pages, organizer_exports, privacy, account, vatsim, my_bookings)
    accounts = (organizer_team, organizer_tokens)
    for module in (*modules, *pages, *accounts):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("skyslots", "static")]), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        max_age=settings.access_token_minutes * 60,
        https_only=settings.env == "production",  # the cookie is Secure behind HTTPS
    )
