"""My bookings: a signed-in person's bookings (release without the manage link) and their
personal calendar feed (subscribe, reset the address, turn it off)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.me.feed import feed_urls
from skyslots.me.service import calendar_feed_off, calendar_feed_rotate, my_bookings
from skyslots.validation import RowId
from skyslots.web.account import SignedIn
from skyslots.web.deps import CheckedForm
from skyslots.web.forms import form_values
from skyslots.web.release import release_with_flash
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FEED_ACTIONS = {
    "on": "Your calendar feed is on.",
    "reset": "Your calendar feed has a new address; the old one no longer works.",
    "off": "Your calendar feed is off.",
}


@router.get("/me/bookings")
async def my_bookings_page(request: Request, db: DatabaseDep, user: SignedIn) -> Response:
    """My bookings, upcoming first, and my calendar feed."""
    bookings = await db.read(my_bookings, user=user)
    settings = request.app.state.settings
    serial = user.calendar_feed_serial
    assert user.id is not None
    feed = None
    if serial is not None:
        feed = feed_urls(
            public_url=settings.public_url,
            secret=settings.secret_key,
            user_id=user.id,
            serial=serial,
        )
    context = {"user": user, "bookings": bookings, "feed": feed}
    return render(request, "my_bookings.html", context)


@router.post("/me/calendar")
async def calendar_feed_form(
    request: Request, db: DatabaseDep, user: SignedIn, form: CheckedForm
) -> Response:
    """Turn the feed on, give it a new address, or turn it off."""
    action = form_values(form, ["action"])["action"]
    session = web_session(request)
    if action in ("on", "reset"):
        await db.transaction(calendar_feed_rotate, user=user)
    elif action == "off":
        await db.transaction(calendar_feed_off, user=user)
    else:
        session.flash("error", "Unknown action.")
        return RedirectResponse("/me/bookings", status_code=303)
    session.flash("success", FEED_ACTIONS[action])
    return RedirectResponse("/me/bookings#calendar", status_code=303)


@router.post("/me/bookings/{booking_id}/release")
async def release_my_booking(
    request: Request, booking_id: RowId, db: DatabaseDep, user: SignedIn, form: CheckedForm
) -> Response:
    """Release one of my bookings (no manage link needed: it was booked signed in)."""
    await release_with_flash(request, db, booking_id=booking_id, user=user)
    return RedirectResponse("/me/bookings", status_code=303)
