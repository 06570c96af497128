"""The organizer's roster actions: assign a slot to a named person, move a booking, release all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.bookings.roster_actions import booking_move, bookings_release_all
from skyslots.bookings.schemas import BookingCreate, BookingMove, ReleaseAll
from skyslots.bookings.service import booking_assign, bookings_of_event
from skyslots.errors import Conflict, NotFound, ValidationFailed
from skyslots.events.detail import event_detail
from skyslots.events.schemas import EventDetail
from skyslots.events.service import event_managed
from skyslots.models import Booking, BookingStatus, User
from skyslots.slots.schemas import SlotPublic, SlotState
from skyslots.slots.service import slot_get
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.forms import (
    GENERAL,
    FormErrors,
    form_errors,
    form_values,
    parse,
    parse_booker,
)
from skyslots.web.grid import slot_label
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)
ASSIGN_FIELDS = ("pilot_name", "pilot_callsign", "email", "notes")
ASSIGNEE_NAME = "Enter the name of the person you assign the slot to."


def roster_state(slot: SlotPublic) -> str:
    """taken, held (a hold or a waitlist offer, until `expires_at`), locked or free."""
    if slot.booking is not None:
        return "taken"
    if slot.status == SlotState.HELD:
        return "held"
    return "locked" if slot.is_locked else "free"


def _slot_of(event: EventDetail, slot_id: int) -> SlotPublic:
    slot = next((s for s in event.slots if s.id == slot_id), None)
    if slot is None:  # deleted a moment ago
        raise NotFound(f"Slot {slot_id} does not exist.", code="slot_not_found")
    return slot


def _back(event_id: int, slot_id: int | None = None) -> str:
    anchor = f"#slot-{slot_id}" if slot_id is not None else "#slot-list"
    return f"/organizer/events/{event_id}{anchor}"


async def _slot_view(
    session: AsyncSession, *, slot_id: int, user: User
) -> tuple[EventDetail, SlotPublic]:
    """The slot's event (if `user` manages it) and the slot as it stands."""
    slot = await slot_get(session, slot_id=slot_id)
    await event_managed(session, event_id=slot.event_id, user=user)
    event = await event_detail(session, event_id=slot.event_id, viewer=user)
    return event, _slot_of(event, slot_id)


async def _booking_view(
    session: AsyncSession, *, booking_id: int, user: User
) -> tuple[Booking, EventDetail]:
    """The booking and its event (if `user` manages it), with every slot as it stands."""
    booking = await session.get(Booking, booking_id)
    if booking is None or booking.status not in (BookingStatus.CLAIMED, BookingStatus.RELEASED):
        raise NotFound(f"Booking {booking_id} does not exist.", code="booking_not_found")
    await event_managed(session, event_id=booking.event_id, user=user)
    return booking, await event_detail(session, event_id=booking.event_id, viewer=user)


# --- assign -------------------------------------------------------------------------------------


async def _assign_page(
    request: Request, db: DatabaseDep, slot_id: int, user: User, *, status: int = 200, **extra: Any
) -> Response:
    event, slot = await db.read(_slot_view, slot_id=slot_id, user=user)
    context = {"event": event, "slot": slot, "state": roster_state(slot), "tab": "slots"}
    context |= {"label": slot_label(slot), "values": {}, "errors": {}, **extra}
    return render(request, "organizer/assign.html", context, status=status)


@router.get("/slots/{slot_id}/assign")
async def assign_page(
    request: Request, slot_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The form that books a slot for a named person."""
    return await _assign_page(request, db, slot_id, user)


@router.post("/slots/{slot_id}/assign")
async def assign_slot(
    request: Request, slot_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Book the slot for the person named (window and lock do not apply; limits do)."""
    event, slot = await db.read(_slot_view, slot_id=slot_id, user=user)
    values = form_values(form, ASSIGN_FIELDS)
    try:
        data = parse_booker(BookingCreate, values, signed_in=False, missing=ASSIGNEE_NAME)
        claim = await db.transaction(booking_assign, slot_id=slot_id, data=data, user=user)
    except (FormErrors, ValidationFailed) as exc:
        return await _assign_page(
            request, db, slot_id, user, status=422, values=values, errors=form_errors(exc)
        )
    except Conflict as exc:
        errors = {GENERAL: exc.detail}
        return await _assign_page(
            request, db, slot_id, user, status=409, values=values, errors=errors
        )
    link = f"{request.base_url}bookings/{claim.id}/manage?token={claim.manage_token}"
    web_session(request).flash(
        "success",
        f"Assigned {slot_label(slot)} to {claim.pilot_callsign} ({claim.pilot_name}). Send them"
        f" their manage link, shown only now, to see or release the booking: {link}",
    )
    return RedirectResponse(_back(event.id, slot_id), status_code=303)


# --- move ---------------------------------------------------------------------------------------


def move_targets(event: EventDetail, *, leaving: int) -> list[SlotPublic]:
    """The slots a booking may move to: those of the event nobody holds or has claimed."""
    return [s for s in event.slots if s.status == SlotState.FREE and s.id != leaving]


async def _move_page(
    request: Request,
    db: DatabaseDep,
    booking_id: int,
    user: User,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    booking, event = await db.read(_booking_view, booking_id=booking_id, user=user)
    context = {
        "event": event,
        "booking": booking,
        "source": _slot_of(event, booking.slot_id),
        "targets": move_targets(event, leaving=booking.slot_id),
        "slot_label": slot_label,
        "roster_state": roster_state,
        "tab": "slots",
        "chosen": "",
        "errors": {},
        **extra,
    }
    return render(request, "organizer/move.html", context, status=status)


@router.get("/bookings/{booking_id}/move")
async def move_page(
    request: Request, booking_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The form that moves a booking to another free slot of its event."""
    return await _move_page(request, db, booking_id, user)


@router.post("/bookings/{booking_id}/move")
async def move_booking(
    request: Request, booking_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Move the booking (the slot it leaves passes to its waitlist)."""
    booking, event = await db.read(_booking_view, booking_id=booking_id, user=user)
    chosen = form_values(form, ["slot_id"])["slot_id"]
    source = _slot_of(event, booking.slot_id)
    try:
        if not chosen:
            raise FormErrors({"slot_id": "Choose the free slot to move the booking to."})
        data = parse(BookingMove, {"slot_id": chosen})
        moved = await db.transaction(
            booking_move, booking_id=booking_id, slot_id=data.slot_id, user=user
        )
    except (FormErrors, ValidationFailed) as exc:
        errors = {"slot_id": next(iter(form_errors(exc).values()))}
        return await _move_page(
            request, db, booking_id, user, status=422, chosen=chosen, errors=errors
        )
    except Conflict as exc:
        errors = {GENERAL: exc.detail}
        return await _move_page(
            request, db, booking_id, user, status=409, chosen=chosen, errors=errors
        )
    target = next((s for s in event.slots if s.id == moved.slot_id), None)
    to = slot_label(target) if target else f"slot {moved.slot_id}"
    web_session(request).flash(
        "success", f"Moved {moved.pilot_callsign} from {slot_label(source)} to {to}."
    )
    return RedirectResponse(_back(event.id, moved.slot_id), status_code=303)


# --- release all --------------------------------------------------------------------------------


async def _release_all_view(
    session: AsyncSession, *, event_id: int, user: User
) -> tuple[EventDetail, int]:
    bookings = await bookings_of_event(session, event_id=event_id, user=user)
    claimed = sum(1 for b in bookings if b.status == BookingStatus.CLAIMED)
    return await event_detail(session, event_id=event_id, viewer=user), claimed


async def _release_all_page(
    request: Request, db: DatabaseDep, event_id: int, user: User, *, status: int = 200, **extra: Any
) -> Response:
    event, claimed = await db.read(_release_all_view, event_id=event_id, user=user)
    context = {"event": event, "claimed": claimed, "tab": "bookings", "typed": "", "errors": {}}
    return render(request, "organizer/release_all.html", context | extra, status=status)


@router.get("/events/{event_id}/bookings/release-all")
async def release_all_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """What releasing every booking does, and the form that confirms it with the title."""
    return await _release_all_page(request, db, event_id, user)


@router.post("/events/{event_id}/bookings/release-all")
async def release_all(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Release every claimed booking of the event, once its title is typed to confirm."""
    await db.read(event_managed, event_id=event_id, user=user)
    typed = form_values(form, ["confirm"])["confirm"]
    try:
        data = parse(ReleaseAll, {"confirm": typed})
        released = await db.transaction(
            bookings_release_all, event_id=event_id, confirm=data.confirm, user=user
        )
    except (FormErrors, ValidationFailed) as exc:
        errors = {"confirm": next(iter(form_errors(exc).values()))}
        return await _release_all_page(
            request, db, event_id, user, status=422, typed=typed, errors=errors
        )
    outcome = (
        f"Released {released} booking{'s' if released != 1 else ''}."
        if released
        else "There were no bookings to release."
    )
    web_session(request).flash("success", outcome)
    return RedirectResponse(f"/organizer/events/{event_id}/bookings", status_code=303)
