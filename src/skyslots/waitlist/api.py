from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from skyslots.accounts.deps import DatabaseDep, OptionalUser, OrganizerUser
from skyslots.bookings.schemas import BookingClaimed
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.validation import RowId
from skyslots.waitlist.schemas import (
    WaitlistEntryPrivate,
    WaitlistJoin,
    WaitlistJoined,
    WaitlistView,
)
from skyslots.waitlist.service import (
    waitlist_accept,
    waitlist_join,
    waitlist_leave,
    waitlist_of_event,
    waitlist_view,
)

router = APIRouter(prefix="/api", tags=["waitlist"])
ManageToken = Annotated[str, Header(alias="X-Manage-Token", max_length=100)]


@router.post("/events/{event_id}/waitlist", status_code=201, dependencies=RATE_LIMITED)
async def join_waitlist(
    event_id: RowId, data: WaitlistJoin, db: DatabaseDep, user: OptionalUser
) -> WaitlistJoined:
    """Wait for a slot, any slot of a position type, or any slot of the event."""
    return await db.transaction(waitlist_join, event_id=event_id, data=data, user=user)


@router.get("/waitlist/{entry_id}")
async def get_waitlist_entry(entry_id: RowId, db: DatabaseDep, token: ManageToken) -> WaitlistView:
    """Your place in line, or your offer and its deadline."""
    return await db.read(waitlist_view, entry_id=entry_id, manage_token=token)


@router.delete("/waitlist/{entry_id}", status_code=204)
async def leave_waitlist(entry_id: RowId, db: DatabaseDep, token: ManageToken) -> Response:
    """Leave the line, or decline an offer."""
    await db.transaction(waitlist_leave, entry_id=entry_id, manage_token=token)
    return Response(status_code=204)


@router.post("/waitlist/{entry_id}/accept", status_code=201, dependencies=RATE_LIMITED)
async def accept_offer(entry_id: RowId, db: DatabaseDep, token: ManageToken) -> BookingClaimed:
    """Accept an offer: the slot held for you becomes your booking."""
    claim = await db.transaction(waitlist_accept, entry_id=entry_id, manage_token=token)
    return BookingClaimed.model_validate(claim)


@router.get("/events/{event_id}/waitlist")
async def list_waitlist(
    event_id: RowId, db: DatabaseDep, user: OrganizerUser
) -> list[WaitlistEntryPrivate]:
    """Organizer: every waitlist entry of the event, in line order, with contact details."""
    entries = await db.read(waitlist_of_event, event_id=event_id, user=user)
    return [WaitlistEntryPrivate.model_validate(e) for e in entries]
