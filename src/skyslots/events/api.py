from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from skyslots.accounts.deps import DatabaseDep, EventCreator, OptionalUser, OrganizerUser
from skyslots.events.detail import event_detail
from skyslots.events.schemas import EventCreate, EventDetail, EventOut, EventPage, EventUpdate
from skyslots.events.service import event_create, event_delete, event_update, events_published
from skyslots.validation import Offset, RowId, UTCDatetime

router = APIRouter(prefix="/api/events", tags=["events"])


@router.get("")
async def list_events(
    db: DatabaseDep,
    airport: Annotated[str | None, Query(pattern=r"^[A-Za-z]{4}$")] = None,
    starts_from: Annotated[UTCDatetime | None, Query(alias="from")] = None,
    starts_to: Annotated[UTCDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> EventPage:
    """Published events, upcoming first; filter by airport and by a from/to time range."""
    events, total = await db.read(
        events_published,
        airport=airport,
        starts_from=starts_from,
        starts_to=starts_to,
        limit=limit,
        offset=offset,
    )
    return EventPage(
        items=[EventOut.model_validate(e) for e in events], total=total, limit=limit, offset=offset
    )


@router.get("/{event_id}")
async def get_event(event_id: RowId, db: DatabaseDep, viewer: OptionalUser) -> EventDetail:
    """An event with its slots and each slot's current booking (public fields only)."""
    return await db.read(event_detail, event_id=event_id, viewer=viewer)


@router.post("", status_code=201)
async def create_event(data: EventCreate, db: DatabaseDep, user: EventCreator) -> EventOut:
    """Create an event; it stays a draft unless `status` says otherwise."""
    event = await db.transaction(event_create, organizer=user, data=data)
    return EventOut.model_validate(event)


@router.patch("/{event_id}")
async def update_event(
    event_id: RowId, data: EventUpdate, db: DatabaseDep, user: OrganizerUser
) -> EventOut:
    """Change some of an event's fields, including `status` (publish, unpublish, cancel)."""
    event = await db.transaction(event_update, event_id=event_id, user=user, data=data)
    return EventOut.model_validate(event)


@router.delete("/{event_id}", status_code=204)
async def delete_event(event_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Response:
    """Delete an event with its slots and bookings: its owner or an admin (not a co-organizer)."""
    await db.transaction(event_delete, event_id=event_id, user=user)
    return Response(status_code=204)
