"""The event's Organizers tab: its owner and co-organizers; the owner (or an admin) adds and
removes co-organizers by email."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import Conflict, NotFound
from skyslots.events.service import event_managed, owns
from skyslots.models import Event, User
from skyslots.organizers.schemas import OrganizerAdd, OrganizerOut
from skyslots.organizers.service import organizer_add, organizer_remove, organizers_of_event
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.forms import FormErrors, form_values, parse
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)


async def _event_and_team(
    session: AsyncSession, *, event_id: int, user: User
) -> tuple[Event, list[OrganizerOut]]:
    event = await event_managed(session, event_id=event_id, user=user)
    return event, await organizers_of_event(session, event_id=event_id, user=user)


async def _team_page(
    request: Request, db: DatabaseDep, event_id: int, user: User, *, status: int = 200, **extra: Any
) -> Response:
    event, team = await db.read(_event_and_team, event_id=event_id, user=user)
    context = {
        "event": event,
        "team": team,
        "tab": "organizers",
        "may_edit": owns(event, user),
        "values": {},
        "errors": {},
        **extra,
    }
    return render(request, "organizer/organizers.html", context, status=status)


@router.get("/events/{event_id}/organizers")
async def organizers_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """Who manages this event."""
    return await _team_page(request, db, event_id, user)


@router.post("/events/{event_id}/organizers")
async def add_organizer_form(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Add a co-organizer by the email of their account (the same rules as the API)."""
    values = form_values(form, ["email"])
    try:
        email = parse(OrganizerAdd, values).email
        added = await db.transaction(organizer_add, event_id=event_id, email=email, user=user)
    except FormErrors as exc:
        return await _team_page(
            request, db, event_id, user, status=422, values=values, errors=exc.errors
        )
    except (NotFound, Conflict) as exc:
        if exc.code not in ("user_not_found", "already_organizer"):
            raise
        errors = {"email": exc.detail}
        return await _team_page(
            request, db, event_id, user, status=exc.status_code, values=values, errors=errors
        )
    web_session(request).flash("success", f"{added.name} is now a co-organizer.")
    return RedirectResponse(f"/organizer/events/{event_id}/organizers", status_code=303)


@router.post("/events/{event_id}/organizers/{user_id}/remove")
async def remove_organizer_form(
    request: Request,
    event_id: RowId,
    user_id: RowId,
    db: DatabaseDep,
    user: OrganizerPage,
    form: CheckedForm,
) -> Response:
    """Remove a co-organizer."""
    await db.transaction(organizer_remove, event_id=event_id, user_id=user_id, user=user)
    web_session(request).flash("success", "Removed the co-organizer.")
    return RedirectResponse(f"/organizer/events/{event_id}/organizers", status_code=303)
