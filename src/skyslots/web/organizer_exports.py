"""The organizer's Exports tab: buttons for CSV, PDF and PNG, each export's progress (a small
script polls GET /api/exports/{id}; without it a reload shows the state) and its download link."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.events.service import event_managed
from skyslots.exports.schemas import ExportOut
from skyslots.exports.service import export_out, export_request, exports_of_event
from skyslots.models import Event, Export, User
from skyslots.models.export import ExportFormat
from skyslots.storage.deps import StorageDep
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)
LABELS = {
    ExportFormat.CSV: "Bookings (CSV)",
    ExportFormat.PDF: "Printable roster (PDF)",
    ExportFormat.PNG: "Roster image (PNG)",
}


async def _event_and_exports(
    session: AsyncSession, *, event_id: int, user: User
) -> tuple[Event, list[Export]]:
    event = await event_managed(session, event_id=event_id, user=user)
    return event, await exports_of_event(session, event_id=event_id, user=user)


@router.get("/events/{event_id}/exports")
async def exports_page(
    request: Request, event_id: RowId, db: DatabaseDep, storage: StorageDep, user: OrganizerPage
) -> Response:
    """The event's exports, newest first, and buttons to make new ones."""
    event, exports = await db.read(_event_and_exports, event_id=event_id, user=user)
    rows: list[ExportOut] = [export_out(export, storage) for export in exports]
    context = {"event": event, "exports": rows, "labels": LABELS, "tab": "exports"}
    return render(request, "organizer/exports.html", context)


@router.post("/events/{event_id}/exports")
async def export_form(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Start an export (the same service as POST /api/events/{id}/exports)."""
    back = RedirectResponse(f"/organizer/events/{event_id}/exports", status_code=303)
    try:
        kind = ExportFormat(str(form.get("format", "")))
    except ValueError:
        web_session(request).flash("error", "Choose CSV, PDF or PNG.")
        return back
    await db.transaction(export_request, event_id=event_id, format=kind, user=user)
    web_session(request).flash("success", f"{LABELS[kind]}: on its way.")
    return back
