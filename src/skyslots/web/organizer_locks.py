"""The organizer's bulk lock: tick slots on the slot page, then "Lock selected" or "Unlock"."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import ValidationFailed
from skyslots.slots.locks import slots_lock
from skyslots.slots.schemas import SlotLock
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.forms import GENERAL, FormErrors, form_errors, form_values, parse
from skyslots.web.templating import PageRoute, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)
ACTIONS = {"lock": True, "unlock": False}


def _outcome(locked: bool, updated: int, selected: int) -> str:
    verb = "Locked" if locked else "Unlocked"
    if updated == 0:
        return f"Nothing to change: the selected slots were already {verb.lower()}."
    unchanged = f" ({selected - updated} already were)" if updated < selected else ""
    return f"{verb} {updated} slot{'s' if updated != 1 else ''}{unchanged}."


@router.post("/events/{event_id}/slots/lock")
async def lock_selected(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Lock or unlock the ticked slots (the same service as POST /api/events/{id}/slots/lock)."""
    action = form_values(form, ["action"])["action"]
    session = web_session(request)
    ticked = [value for value in form.getlist("slot_ids") if isinstance(value, str)]
    try:
        if action not in ACTIONS:
            raise FormErrors({GENERAL: "Unknown action."})
        if not ticked:
            raise FormErrors({GENERAL: "Tick at least one slot first."})
        data = parse(SlotLock, {"slot_ids": ticked, "locked": ACTIONS[action]})
        changed = await db.transaction(
            slots_lock, event_id=event_id, user=user, slot_ids=data.slot_ids, locked=data.locked
        )
        session.flash("success", _outcome(data.locked, len(changed), len(set(data.slot_ids))))
    except (FormErrors, ValidationFailed) as exc:
        session.flash("error", next(iter(form_errors(exc).values())))
    return RedirectResponse(f"/organizer/events/{event_id}#slot-list", status_code=303)
