"""The organizer's roster tools: add one or many slots, lock, reorder, delete, release, audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.audit.service import audit_list
from skyslots.bookings.service import bookings_of_event
from skyslots.errors import Conflict, ValidationFailed
from skyslots.events.detail import event_detail
from skyslots.events.service import event_managed
from skyslots.models import User
from skyslots.ratings import RATINGS, slot_requirement
from skyslots.slots.reorder import slot_move
from skyslots.slots.schemas import SlotCreate, SlotUpdate
from skyslots.slots.service import slot_delete, slot_get, slot_update, slots_create
from skyslots.slots.service import slot_label as slot_label_of
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.forms import FormErrors, expand_bulk, form_errors, form_values, parse
from skyslots.web.grid import slot_label
from skyslots.web.organizer_roster import roster_state
from skyslots.web.organizer_waitlist import roster_and_waitlist, waiting_elsewhere, waiting_per_slot
from skyslots.web.release import release_with_flash
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)

SLOT_FIELDS = (
    "position_name", "position_type", "start_time", "end_time", "notes", "origin_icao",
    "destination_icao", "slot_time", "aircraft_type", "route", "callsign", "min_rating",
)  # fmt: skip
BULK_FIELDS = ("kind", "lines", "start", "end", "minutes")


async def _slots_page(
    request: Request, db: DatabaseDep, event_id: int, user: User, *, status: int = 200, **extra: Any
) -> Response:
    event, entries = await db.read(roster_and_waitlist, event_id=event_id, user=user)
    context: dict[str, Any] = {
        "event": event,
        "tab": "slots",
        "slot_state": roster_state,
        "waiting": waiting_per_slot(entries),
        "waiting_elsewhere": waiting_elsewhere(entries),
        "slot_label": slot_label,
        "ratings": RATINGS,
        "required": lambda slot: slot_requirement(
            {
                **slot.model_dump(include={"min_rating", "position_type"}),
                "apply_rating_defaults": event.apply_rating_defaults,
            }
        ),
        "single": {},
        "bulk": {"kind": "atc", "minutes": "120"},
        "errors": {},
        "bulk_errors": {},
        **extra,
    }
    return render(request, "organizer/slots.html", context, status=status)


@router.get("/events/{event_id}")
async def slots_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The event's slots with their bookings, and the forms to add more."""
    return await _slots_page(request, db, event_id, user)


@router.post("/events/{event_id}/slots")
async def add_slot(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Add one slot."""
    values = form_values(form, SLOT_FIELDS)
    data = {k: v or None for k, v in values.items()} | {"notes": values["notes"]}
    data["is_locked"] = form.get("is_locked") == "on"
    try:
        item = parse(SlotCreate, data)
        await db.transaction(slots_create, event_id=event_id, user=user, items=[item])
    except (FormErrors, ValidationFailed) as exc:
        return await _slots_page(
            request, db, event_id, user, status=422, single=values, errors=form_errors(exc)
        )
    web_session(request).flash("success", f"Added {item.position_name}.")
    return RedirectResponse(f"/organizer/events/{event_id}", status_code=303)


@router.post("/events/{event_id}/slots/bulk")
async def add_slots(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Add positions x time blocks at once: all of them, or none."""
    values = form_values(form, BULK_FIELDS)
    try:
        items = expand_bulk(
            kind=values["kind"],
            lines=values["lines"],
            start=values["start"],
            end=values["end"],
            minutes=values["minutes"],
        )
        await db.transaction(slots_create, event_id=event_id, user=user, items=items)
    except (FormErrors, ValidationFailed) as exc:
        return await _slots_page(
            request, db, event_id, user, status=422, bulk=values, bulk_errors=form_errors(exc)
        )
    web_session(request).flash("success", f"Added {len(items)} slots.")
    return RedirectResponse(f"/organizer/events/{event_id}", status_code=303)


@router.post("/slots/{slot_id}")
async def slot_action(
    request: Request, slot_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Lock, unlock, move up or down, or delete one slot."""
    action = form_values(form, ["action"])["action"]
    slot = await db.read(slot_get, slot_id=slot_id)
    session = web_session(request)
    try:
        if action in ("lock", "unlock"):
            data = SlotUpdate(is_locked=action == "lock")
            await db.transaction(slot_update, slot_id=slot_id, user=user, data=data)
        elif action in ("up", "down"):
            offset = -1 if action == "up" else 1
            await db.transaction(slot_move, slot_id=slot_id, user=user, offset=offset)
        elif action == "rating":
            rating = form_values(form, ["min_rating"])["min_rating"] or None
            data = parse(SlotUpdate, {"min_rating": rating})
            await db.transaction(slot_update, slot_id=slot_id, user=user, data=data)
            session.flash("success", f"{slot_label_of(slot)}: minimum rating saved.")
        elif action == "delete":
            await db.transaction(slot_delete, slot_id=slot_id, user=user)
            session.flash("success", f"Deleted {slot.position_name}.")
        else:
            session.flash("error", "Unknown action.")
    except Conflict as exc:
        session.flash("error", exc.detail)
    except (FormErrors, ValidationFailed) as exc:
        session.flash("error", "; ".join(form_errors(exc).values()))
    return RedirectResponse(f"/organizer/events/{slot.event_id}#slot-list", status_code=303)


@router.post("/bookings/{booking_id}/release")
async def release_booking(
    request: Request, booking_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Release anyone's booking on my event."""
    back = form_values(form, ["back"])["back"]
    await release_with_flash(request, db, booking_id=booking_id, user=user)
    target = back if back.startswith("/organizer/") else "/organizer"
    return RedirectResponse(target, status_code=303)


@router.get("/events/{event_id}/bookings")
async def bookings_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """Every booking of the event, with emails and notes."""
    bookings = await db.read(bookings_of_event, event_id=event_id, user=user)
    event = await db.read(event_detail, event_id=event_id, viewer=user)
    labels = {s.id: slot_label(s) for s in event.slots}
    context = {"event": event, "bookings": bookings, "labels": labels, "tab": "bookings"}
    return render(request, "organizer/bookings.html", context)


@router.get("/events/{event_id}/audit")
async def audit_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The event's audit log, newest first."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    entries = await db.read(audit_list, event_id=event_id, limit=300, offset=0)
    context = {"event": event, "entries": entries, "tab": "audit"}
    return render(request, "organizer/audit.html", context)
