"""The organizer's dashboard and event forms: create, edit, publish, unpublish, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import ValidationFailed
from skyslots.events.schemas import EventCreate, EventUpdate
from skyslots.events.service import event_create, event_managed, event_update, events_managed_by
from skyslots.events.stats import SlotCounts, slot_counts
from skyslots.models import Event, EventStatus, Role, User
from skyslots.organizers.repository import co_organized_event_ids
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, EventCreatorPage, OrganizerPage
from skyslots.web.forms import FormErrors, form_errors, form_values, parse
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)

# Booking rules: a field the form does not send keeps its default (create) or current value.
SETTING_FIELDS = (
    "hold_seconds",
    "waitlist_mode",
    "offer_seconds",
    "max_slots_per_person",
    "reminder_offsets_minutes",
    "discord_webhook_url",
    "require_email_confirmation",
    "confirm_seconds",
    "booking_requires_login",
    "apply_rating_defaults",
)
EVENT_FIELDS = (
    "title",
    "airport_icao",
    "timezone",
    "start_datetime",
    "end_datetime",
    "booking_opens_at",
    "booking_closes_at",
    "description",
    "status",
    *SETTING_FIELDS,
)
RULE_DEFAULTS = {
    name: EventCreate.model_fields[name].get_default(call_default_factory=True)
    for name in SETTING_FIELDS
}
STATUS_ACTIONS = {
    "publish": (EventStatus.PUBLISHED, "published: it is on the home page and takes bookings"),
    "unpublish": (EventStatus.DRAFT, "back to draft: only you can see it"),
    "cancel": (EventStatus.CANCELLED, "cancelled: it takes no more bookings"),
}


def _event_values(form: FormData) -> dict[str, str]:
    """The event form's values, without the booking rules it left out."""
    values = form_values(form, EVENT_FIELDS)
    return {k: v for k, v in values.items() if k not in SETTING_FIELDS or k in form}


def _parsed(values: dict[str, str]) -> dict[str, Any]:
    """The form's text as the schema takes it: reminder offsets typed as "1440, 60"."""
    parsed: dict[str, Any] = dict(values)
    if "reminder_offsets_minutes" in values:
        parsed["reminder_offsets_minutes"] = (
            values["reminder_offsets_minutes"].replace(",", " ").split()
        )
    return parsed


async def _dashboard(
    session: AsyncSession, *, user: User
) -> tuple[list[Event], dict[int, SlotCounts], set[int]]:
    events = await events_managed_by(session, user=user)
    counts = await slot_counts(session, event_ids=[e.id for e in events if e.id is not None])
    assert user.id is not None
    co_organized = set(await co_organized_event_ids(session, user_id=user.id))
    return events, counts, co_organized


@router.get("")
async def dashboard(request: Request, db: DatabaseDep, user: OrganizerPage) -> Response:
    """My events with their slot counts."""
    events, counts, co_organized = await db.read(_dashboard, user=user)
    context = {
        "events": events,
        "counts": counts,
        "co_organized": co_organized,
        "may_create": user.role in (Role.ORGANIZER, Role.ADMIN),
    }
    return render(request, "organizer/dashboard.html", context)


def _event_form(
    request: Request,
    *,
    event: Event | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "event": event,
        "values": values,
        "errors": errors,
        "tab": "edit",
        "rules": {k: getattr(event, k) for k in SETTING_FIELDS} if event else RULE_DEFAULTS,
    }
    return render(request, "organizer/event_form.html", context, status=status)


@router.get("/events/new")
async def new_event_page(request: Request, user: EventCreatorPage) -> Response:
    """The form for a new event."""
    return _event_form(request, event=None, values={"status": "draft"}, errors={})


@router.post("/events/new")
async def create_event(
    request: Request, db: DatabaseDep, user: EventCreatorPage, form: CheckedForm
) -> Response:
    """Create the event, then go on to its slots."""
    values = _event_values(form)
    try:
        data = parse(EventCreate, _parsed(values))
        event = await db.transaction(event_create, organizer=user, data=data)
    except FormErrors as exc:
        return _event_form(request, event=None, values=values, errors=exc.errors, status=422)
    web_session(request).flash("success", f"Created {event.title}. Now add its slots.")
    return RedirectResponse(f"/organizer/events/{event.id}", status_code=303)


@router.get("/events/{event_id}/edit")
async def edit_event_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The event's fields, ready to change."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    return _event_form(request, event=event, values={}, errors={})


@router.post("/events/{event_id}/edit")
async def edit_event(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Save the event's fields (the same rules as PATCH /api/events/{id})."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    values = _event_values(form)
    try:
        data = parse(EventUpdate, _parsed({k: v for k, v in values.items() if k != "status"}))
        await db.transaction(event_update, event_id=event_id, user=user, data=data)
    except (FormErrors, ValidationFailed) as exc:
        return _event_form(request, event=event, values=values, errors=form_errors(exc), status=422)
    web_session(request).flash("success", "Saved.")
    return RedirectResponse(f"/organizer/events/{event_id}/edit", status_code=303)


@router.post("/events/{event_id}/status")
async def change_status(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Publish, unpublish or cancel."""
    action = form_values(form, ["action"])["action"]
    session = web_session(request)
    if action not in STATUS_ACTIONS:
        session.flash("error", "Unknown action.")
    else:
        status, outcome = STATUS_ACTIONS[action]
        data = EventUpdate(status=status)
        event = await db.transaction(event_update, event_id=event_id, user=user, data=data)
        session.flash("success", f"{event.title} is {outcome}.")
    return RedirectResponse(f"/organizer/events/{event_id}", status_code=303)
