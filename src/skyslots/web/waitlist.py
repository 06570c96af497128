"""The public waitlist pages: joining from the event page, and the waiter's manage link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.db import utcnow
from skyslots.errors import Conflict, Forbidden, NotFound, ValidationFailed
from skyslots.features.deps import requires_feature
from skyslots.models import Booking, Event, Slot
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.slots.service import slot_label
from skyslots.validation import RowId
from skyslots.waitlist.schemas import WaitlistJoin, WaitlistView
from skyslots.waitlist.service import waitlist_accept, waitlist_join, waitlist_leave, waitlist_view
from skyslots.web.deps import CheckedForm, SessionUser
from skyslots.web.forms import FormErrors, form_errors, form_values, parse_booker
from skyslots.web.grid import minutes_left
from skyslots.web.public import WAIT_ANY, event_page_response
from skyslots.web.templating import PageRoute, render

router = APIRouter(
    route_class=PageRoute, include_in_schema=False, dependencies=[requires_feature("waitlist")]
)
JOIN_FIELDS = ("pilot_name", "pilot_callsign", "email", "slot_id", "position_type")


@router.post("/events/{event_id}/waitlist", dependencies=RATE_LIMITED)
async def join_form(
    request: Request, event_id: RowId, db: DatabaseDep, viewer: SessionUser, form: CheckedForm
) -> Response:
    """Join a waitlist without JavaScript (the same service as POST /api/events/{id}/waitlist)."""
    values = form_values(form, JOIN_FIELDS)
    target: str | int = int(values["slot_id"]) if values["slot_id"].isdigit() else WAIT_ANY
    optional = ("email", "slot_id", "position_type")  # blank means not given
    data = {k: (v or None) if k in optional else v for k, v in values.items()}
    try:
        joined = await db.transaction(
            waitlist_join,
            event_id=event_id,
            data=parse_booker(WaitlistJoin, data, signed_in=viewer is not None),
            user=viewer,
        )
    except (FormErrors, ValidationFailed) as exc:
        return await event_page_response(
            request, db, event_id, viewer, status=422, wait=target, wait_values=values,
            wait_errors=form_errors(exc),
        )  # fmt: skip
    except (Conflict, Forbidden) as exc:
        return await event_page_response(
            request, db, event_id, viewer, status=exc.status_code, wait=target,
            wait_values=values, wait_conflict=exc.detail,
        )  # fmt: skip
    waited = {"entry": joined, "token": joined.manage_token, "callsign": data["pilot_callsign"]}
    return await event_page_response(request, db, event_id, viewer, waited=waited)


@dataclass(frozen=True)
class WaitlistPage:
    """An entry as its owner sees it, with its event and the slot it waits for or was offered."""

    view: WaitlistView
    event: Event
    slot: Slot | None

    @property
    def target(self) -> str:
        if self.slot is not None:
            return slot_label(self.slot)
        if self.view.position_type:
            return f"any {self.view.position_type} slot"
        return "any slot of this event"


async def waitlist_page(session: AsyncSession, *, entry_id: int, manage_token: str) -> WaitlistPage:
    """The entry for its token (404 unknown, 403 wrong token), its event and slot."""
    view = await waitlist_view(session, entry_id=entry_id, manage_token=manage_token)
    event = await session.get(Event, view.event_id)
    if event is None:
        raise NotFound(f"Waitlist entry {entry_id} does not exist.", code="waitlist_not_found")
    slot_id = view.slot_id
    if view.booking_id is not None:
        booking = await session.get(Booking, view.booking_id)
        slot_id = booking.slot_id if booking is not None else slot_id
    slot = await session.get(Slot, slot_id) if slot_id is not None else None
    return WaitlistPage(view=view, event=event, slot=slot)


async def _page(
    request: Request, db: DatabaseDep, entry_id: int, token: str, **extra: object
) -> Response:
    entry = await db.read(waitlist_page, entry_id=entry_id, manage_token=token)
    now = utcnow()
    context = {
        "page": entry,
        "token": token,
        "now": now,
        "offer_left": minutes_left(entry.view.offer_expires_at, now),
        "notice": None,
        "done": None,
        **extra,
    }
    return render(request, "waitlist.html", context)


@router.get("/waitlist/{entry_id}")
async def manage_page(
    request: Request, entry_id: RowId, db: DatabaseDep, token: Annotated[str, Query()] = ""
) -> Response:
    """A waitlist entry: the place in line, an offer to accept or decline, or the booking."""
    return await _page(request, db, entry_id, token)


@router.post("/waitlist/{entry_id}", dependencies=RATE_LIMITED)
async def manage_form(
    request: Request, entry_id: RowId, db: DatabaseDep, form: CheckedForm
) -> Response:
    """Accept or decline an offer, or leave the line (the services of /api/waitlist/{id})."""
    values = form_values(form, ["token", "action"])
    token, action = values["token"], values["action"]
    try:
        if action == "accept":
            await db.transaction(waitlist_accept, entry_id=entry_id, manage_token=token)
        elif action in ("decline", "leave"):
            await db.transaction(waitlist_leave, entry_id=entry_id, manage_token=token)
        else:
            return await _page(request, db, entry_id, token, notice="Choose what to do.")
    except Conflict as exc:
        return await _page(request, db, entry_id, token, notice=exc.detail)
    return await _page(request, db, entry_id, token, done=action)
