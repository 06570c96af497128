from __future__ import annotations

from fastapi import APIRouter, Response

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.organizers.schemas import OrganizerAdd, OrganizerOut
from skyslots.organizers.service import organizer_add, organizer_remove, organizers_of_event
from skyslots.validation import RowId

router = APIRouter(prefix="/api/events/{event_id}/organizers", tags=["organizers"])


@router.get("")
async def list_organizers(
    event_id: RowId, db: DatabaseDep, user: OrganizerUser
) -> list[OrganizerOut]:
    """The event's owner and co-organizers (any of them, or an admin, may look)."""
    return await db.read(organizers_of_event, event_id=event_id, user=user)


@router.post("", status_code=201)
async def add_organizer(
    event_id: RowId, data: OrganizerAdd, db: DatabaseDep, user: OrganizerUser
) -> OrganizerOut:
    """Owner or admin: make an existing account a co-organizer (404 `user_not_found`, 409
    `already_organizer`)."""
    return await db.transaction(organizer_add, event_id=event_id, email=data.email, user=user)


@router.delete("/{user_id}", status_code=204)
async def remove_organizer(
    event_id: RowId, user_id: RowId, db: DatabaseDep, user: OrganizerUser
) -> Response:
    """Owner or admin: remove a co-organizer."""
    await db.transaction(organizer_remove, event_id=event_id, user_id=user_id, user=user)
    return Response(status_code=204)
