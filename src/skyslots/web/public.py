"""Public pages: upcoming events, an event with its live roster, booking without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response

from skyslots.accounts.deps import DatabaseDep
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.service import booking_claim
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from skyslots.events.detail import event_detail
from skyslots.events.schemas import EventDetail
from skyslots.events.service import can_manage, events_published
from skyslots.events.stats import slot_counts
from skyslots.features.deps import request_features
from skyslots.metrics import counted
from skyslots.models import User, WaitlistMode
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.slots.schemas import SlotPublic
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, SessionUser
from skyslots.web.forms import FormErrors, form_errors, form_values, parse_booker
from skyslots.web.grid import (
    OPEN,
    build_roster,
    minutes_left,
    slot_gates,
    slot_label,
    slot_state,
    slot_times,
)
from skyslots.web.organizer_waitlist import duration
from skyslots.web.templating import PageRoute, render
from skyslots.web.window import booking_window

router = APIRouter(route_class=PageRoute, include_in_schema=False)
BOOKING_FIELDS = ("pilot_name", "pilot_callsign", "email", "notes")
EVENT_JSON_FIELDS = {
    "status", "start_datetime", "end_datetime", "booking_opens_at", "booking_closes_at",
    "hold_seconds", "waitlist_mode",
}  # fmt: skip
WAIT_ANY = "any"  # `?wait=any`: the waitlist form for any slot (or any slot of a type)


@router.get("/")
async def home(
    request: Request,
    db: DatabaseDep,
    airport: Annotated[str | None, Query(max_length=4)] = None,
) -> Response:
    """Upcoming published events, soonest first, optionally at one airport."""
    icao = (airport or "").strip().upper() or None
    now = utcnow()
    everything, _ = await db.read(
        events_published, airport=None, starts_from=now, starts_to=None, limit=100, offset=0
    )
    events = [e for e in everything if icao is None or e.airport_icao == icao]
    airports = sorted({(e.airport_icao, e.airport_name) for e in everything})
    counts = await db.read(slot_counts, event_ids=[e.id for e in events if e.id is not None])
    context = {"events": events, "counts": counts, "airports": airports, "airport": icao or ""}
    return render(request, "home.html", context)


async def viewer_manages(db: DatabaseDep, event: EventDetail, viewer: User | None) -> bool:
    """Whether the page shows "Manage this event" (no query for anonymous visitors)."""
    if viewer is None:
        return False
    return await db.read(
        can_manage, event_id=event.id, organizer_id=event.organizer_id, user=viewer
    )


def roster_context(
    event: EventDetail, *, manages: bool, viewer: User | None = None
) -> dict[str, Any]:
    minutes = int((event.end_datetime - event.start_datetime).total_seconds() // 60)
    now = utcnow()
    return {
        "event": event,
        "viewer": viewer,
        "gates": slot_gates(event, viewer),
        "open_gate": OPEN,
        "login_url": f"/login?next={quote(f'/events/{event.id}', safe='')}",
        "duration": f"{minutes // 60} h" + (f" {minutes % 60:02d} min" if minutes % 60 else ""),
        "roster": build_roster(event, now),
        "booking_window": booking_window(event, now),
        "can_manage": manages,
        "slot_state": slot_state,
        "slot_label": slot_label,
        "slot_times": slot_times,
        "minutes_left": minutes_left,
        "offer_time": duration(event.offer_seconds),
        "roster_json": {
            "version": event.version,
            "now": now.isoformat(timespec="milliseconds"),  # the booking window's clock
            "event": event.model_dump(mode="json", include=EVENT_JSON_FIELDS),
            "slots": [s.model_dump(mode="json") for s in event.slots],
        },
    }


def _find_slot(event: EventDetail, slot_id: int | None) -> SlotPublic | None:
    return next((s for s in event.slots if s.id == slot_id), None)


def _wait_target(event: EventDetail, wait: str | int | None) -> SlotPublic | str | None:
    """What the no-JavaScript waitlist form waits for: a slot, any slot (WAIT_ANY), or no form."""
    if wait == WAIT_ANY:
        return WAIT_ANY
    if isinstance(wait, int) or (isinstance(wait, str) and wait.isdigit()):
        return _find_slot(event, int(wait))
    return None


def _claim_values(claim: SlotPublic | None, values: dict[str, str]) -> dict[str, str]:
    """A fixed callsign fills the form's callsign field (the claim must use it anyway)."""
    if claim is not None and claim.callsign and not values.get("pilot_callsign"):
        return {**values, "pilot_callsign": claim.callsign}
    return values


def features_applied(event: EventDetail, features: dict[str, bool]) -> EventDetail:
    """The event as the public page shows it: with the `holds` flag off it books without a hold
    step, with `waitlist` off it has no waitlist (no join links, no `?wait=` form)."""
    changes: dict[str, Any] = {}
    if not features["holds"]:
        changes["hold_seconds"] = 0
    if not features["waitlist"]:
        changes["waitlist_mode"] = WaitlistMode.OFF
    return event.model_copy(update=changes) if changes else event


async def event_page_response(
    request: Request,
    db: DatabaseDep,
    event_id: int,
    viewer: User | None,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The event page, with the booking or waitlist form open and its outcome as given."""
    event = await db.read(event_detail, event_id=event_id, viewer=viewer)
    event = features_applied(event, request_features(request))
    claim = _find_slot(event, extra.pop("claim", None))
    wait = _wait_target(event, extra.pop("wait", None))
    if not request_features(request)["waitlist"]:
        wait = None  # no `?wait=` form while the feature is off (an event's own "off" says why)
    context = roster_context(event, manages=await viewer_manages(db, event, viewer), viewer=viewer)
    defaults = {
        "values": {}, "errors": {}, "booked": None, "conflict": None,
        "wait_values": {}, "wait_errors": {}, "wait_conflict": None, "waited": None,
    }  # fmt: skip
    context.update(defaults | extra, claim=claim, wait=wait)
    context["values"] = _claim_values(claim, context["values"])
    return render(request, "event.html", context, status=status)


@router.get("/events/{event_id}")
async def event_page(
    request: Request,
    event_id: RowId,
    db: DatabaseDep,
    viewer: SessionUser,
    claim: int | None = None,
    wait: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """An event with its roster; `?claim=<slot>` opens the booking form and `?wait=<slot>` or
    `?wait=any` the waitlist form, without JavaScript."""
    return await event_page_response(request, db, event_id, viewer, claim=claim, wait=wait)


@router.get("/events/{event_id}/roster")
async def roster_fragment(
    request: Request, event_id: RowId, db: DatabaseDep, viewer: SessionUser
) -> Response:
    """The roster alone: the live page swaps it in when slots are added or removed."""
    event = await db.read(event_detail, event_id=event_id, viewer=viewer)
    event = features_applied(event, request_features(request))
    context = roster_context(event, manages=await viewer_manages(db, event, viewer), viewer=viewer)
    return render(request, "_roster.html", context)


@router.post("/events/{event_id}/book/{slot_id}", dependencies=RATE_LIMITED)
async def book_form(
    request: Request,
    event_id: RowId,
    slot_id: RowId,
    db: DatabaseDep,
    viewer: SessionUser,
    form: CheckedForm,
) -> Response:
    """The booking form without JavaScript: the page re-renders with the result."""
    values = form_values(form, BOOKING_FIELDS)
    event = await db.read(event_detail, event_id=event_id, viewer=viewer)
    if _find_slot(event, slot_id) is None:
        raise NotFound(f"Slot {slot_id} is not part of this event.", code="slot_not_found")
    try:
        data = parse_booker(BookingCreate, values, signed_in=viewer is not None)
        with counted("booking"):
            claim = await db.transaction(booking_claim, slot_id=slot_id, data=data, user=viewer)
    except (FormErrors, ValidationFailed) as exc:
        return await event_page_response(
            request, db, event_id, viewer, status=422, claim=slot_id, values=values,
            errors=form_errors(exc),
        )  # fmt: skip
    except (Conflict, Forbidden) as exc:
        return await event_page_response(
            request, db, event_id, viewer, status=exc.status_code, claim=slot_id, values=values,
            conflict=exc.detail,
        )  # fmt: skip
    booked = {"booking": claim, "token": claim.manage_token}
    return await event_page_response(request, db, event_id, viewer, booked=booked)
