"""Releasing a booking from a page, as its organizer or its signed-in booker."""

from __future__ import annotations

from fastapi import Request

from skyslots.bookings.release import booking_release
from skyslots.db import Database
from skyslots.errors import Conflict
from skyslots.models import User
from skyslots.web.templating import web_session


async def release_with_flash(
    request: Request, db: Database, *, booking_id: int, user: User
) -> None:
    """Release the booking as `user` (no manage token: their authority is checked); the outcome
    is flashed."""
    session = web_session(request)
    try:
        booking = await db.transaction(
            booking_release, booking_id=booking_id, manage_token=None, user=user
        )
        session.flash("success", f"Released {booking.pilot_callsign}'s booking.")
    except Conflict as exc:
        session.flash("error", exc.detail)
