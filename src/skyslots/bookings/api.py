from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from skyslots.accounts.deps import DatabaseDep, OptionalUser, OrganizerUser
from skyslots.bookings.confirm import booking_confirm
from skyslots.bookings.release import booking_release
from skyslots.bookings.roster_actions import booking_move, bookings_release_all
from skyslots.bookings.schemas import (
    BookingClaimed,
    BookingConfirm,
    BookingCreate,
    BookingMove,
    BookingOut,
    BookingPrivate,
    BookingRequest,
    ReleaseAll,
    ReleasedAll,
)
from skyslots.bookings.service import booking_assign, booking_claim, bookings_of_event
from skyslots.features.deps import requires_feature
from skyslots.metrics import counted
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["bookings"])


@router.post("/slots/{slot_id}/book", status_code=201, dependencies=RATE_LIMITED)
async def book_slot(
    slot_id: RowId, data: BookingRequest, db: DatabaseDep, user: OptionalUser
) -> BookingClaimed:
    """Claim a free slot (or the one you hold: send its hold_token); 409 says why not."""
    with counted("booking"):  # skyslots_bookings_total by outcome and code
        claim = await db.transaction(
            booking_claim, slot_id=slot_id, data=data, user=user, hold_token=data.hold_token
        )
    return BookingClaimed.model_validate(claim)


@router.post("/slots/{slot_id}/assign", status_code=201)
async def assign_slot(
    slot_id: RowId, data: BookingCreate, db: DatabaseDep, user: OrganizerUser
) -> BookingClaimed:
    """Organizer: book a slot for a named person, regardless of the window and the lock."""
    claim = await db.transaction(booking_assign, slot_id=slot_id, data=data, user=user)
    return BookingClaimed.model_validate(claim)


@router.post("/bookings/{booking_id}/release", dependencies=RATE_LIMITED)
async def release_booking(
    booking_id: RowId,
    db: DatabaseDep,
    user: OptionalUser,
    manage_token: Annotated[str | None, Header(alias="X-Manage-Token")] = None,
) -> BookingOut:
    """Release a booking with its X-Manage-Token, or as the event's organizer."""
    booking = await db.transaction(
        booking_release, booking_id=booking_id, manage_token=manage_token, user=user
    )
    return BookingOut.model_validate(booking)


@router.post(
    "/bookings/{booking_id}/confirm",
    dependencies=[requires_feature("email_confirmation"), *RATE_LIMITED],
)
async def confirm_booking(booking_id: RowId, data: BookingConfirm, db: DatabaseDep) -> BookingOut:
    """Confirm a booking waiting for its email confirmation (the token from its mail's link)."""
    booking = await db.transaction(booking_confirm, booking_id=booking_id, token=data.token)
    return BookingOut.model_validate(booking)


@router.get("/events/{event_id}/bookings")
async def list_bookings(
    event_id: RowId, db: DatabaseDep, user: OrganizerUser
) -> list[BookingPrivate]:
    """Every booking of the event (claimed and released), with contact details."""
    bookings = await db.read(bookings_of_event, event_id=event_id, user=user)
    return [BookingPrivate.model_validate(b) for b in bookings]


@router.post("/bookings/{booking_id}/move")
async def move_booking(
    booking_id: RowId, data: BookingMove, db: DatabaseDep, user: OrganizerUser
) -> BookingOut:
    """Organizer: move a claimed booking to a free slot of the same event."""
    booking = await db.transaction(
        booking_move, booking_id=booking_id, slot_id=data.slot_id, user=user
    )
    return BookingOut.model_validate(booking)


@router.post("/events/{event_id}/bookings/release-all")
async def release_all_bookings(
    event_id: RowId, data: ReleaseAll, db: DatabaseDep, user: OrganizerUser
) -> ReleasedAll:
    """Organizer: release every claimed booking (confirm with the event's title)."""
    released = await db.transaction(
        bookings_release_all, event_id=event_id, confirm=data.confirm, user=user
    )
    return ReleasedAll(released=released)
