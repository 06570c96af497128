"""The organizer's bulk tools: generate slots after a preview, import a CSV after a dry run."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import ValidationFailed
from skyslots.events.service import event_managed
from skyslots.models import Event
from skyslots.slots.exchange import ImportFailed, slots_import
from skyslots.slots.generate import slots_generate
from skyslots.slots.schemas import AtcGenerate, GeneratePreview, ImportReport, PilotGenerate
from skyslots.slots.upload import form_csv
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, CheckedUpload, OrganizerPage
from skyslots.web.forms import FormErrors, form_errors, form_values, parse
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)

GENERATE_FIELDS = (
    "kind", "positions", "block_minutes", "every_minutes", "from", "to", "origin_icao",
    "destinations", "aircraft_type",
)  # fmt: skip


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _defaults(event: Event) -> dict[str, str]:
    return {
        "kind": "atc", "positions": "", "block_minutes": "120", "every_minutes": "2",
        "from": _local(event.start_datetime), "to": _local(event.end_datetime),
        "origin_icao": event.airport_icao, "destinations": "", "aircraft_type": "",
    }  # fmt: skip


def generate_request(values: dict[str, str], *, dry_run: bool) -> AtcGenerate | PilotGenerate:
    """The generate form as the API's request; FormErrors per field."""
    common = {"from": values["from"] or None, "to": values["to"] or None, "dry_run": dry_run}
    if values["kind"] == "pilot":
        return parse(
            PilotGenerate,
            {
                "kind": "pilot",
                "every_minutes": values["every_minutes"],
                "origin_icao": values["origin_icao"],
                "destinations": [d for d in re.split(r"[\s,;]+", values["destinations"]) if d],
                "aircraft_type": values["aircraft_type"] or None,
                **common,
            },
        )
    positions = [line.strip() for line in values["positions"].splitlines() if line.strip()]
    return parse(
        AtcGenerate,
        {"kind": "atc", "positions": positions, "block_minutes": values["block_minutes"], **common},
    )


async def _generate_page(
    request: Request, event: Event, *, status: int = 200, **extra: Any
) -> Response:
    context = {"event": event, "tab": "slots", "values": _defaults(event), "errors": {}}
    return render(
        request, "organizer/generate.html", context | {"preview": None, **extra}, status=status
    )


@router.get("/events/{event_id}/slots/generate")
async def generate_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The form that generates ATC blocks or pilot slots."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    return await _generate_page(request, event)


@router.post("/events/{event_id}/slots/generate")
async def generate_slots(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Preview the slots the form would generate (action=preview), or create them (create)."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    values = form_values(form, GENERATE_FIELDS)
    create = form_values(form, ["action"])["action"] == "create"
    try:
        data = generate_request(values, dry_run=not create)
        work = db.transaction if create else db.read
        result = await work(slots_generate, event_id=event_id, user=user, request=data)
    except (FormErrors, ValidationFailed) as exc:
        return await _generate_page(
            request, event, status=422, values=values, errors=form_errors(exc)
        )
    if isinstance(result, GeneratePreview):
        return await _generate_page(request, event, values=values, preview=result)
    skipped = f"; {len(result.skipped)} already existed" if result.skipped else ""
    web_session(request).flash("success", f"Generated {len(result.slots)} slots{skipped}.")
    return RedirectResponse(f"/organizer/events/{event_id}#slot-list", status_code=303)


async def _import_page(
    request: Request, event: Event, *, status: int = 200, **extra: Any
) -> Response:
    context = {"event": event, "tab": "slots", "report": None, "csv_text": "", "errors": {}}
    return render(request, "organizer/import.html", context | extra, status=status)


@router.get("/events/{event_id}/slots/import")
async def import_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """The form that checks a CSV of slots before importing it."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    return await _import_page(request, event)


@router.post("/events/{event_id}/slots/import")
async def import_slots(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedUpload
) -> Response:
    """Check the uploaded CSV and show every problem (action=check), or import it (apply)."""
    event = await db.read(event_managed, event_id=event_id, user=user)
    data = await form_csv(form)
    if data is None:
        errors = {"file": "Choose a CSV file to import."}
        return await _import_page(request, event, status=422, errors=errors)
    text = data.decode("utf-8-sig", errors="replace")
    apply = form_values(form, ["action"])["action"] == "apply"
    try:
        report: ImportReport = await (db.transaction if apply else db.read)(
            slots_import, event_id=event_id, user=user, data=data, apply=apply
        )
    except ImportFailed as exc:
        return await _import_page(request, event, status=422, report=exc.report, csv_text=text)
    if not apply:
        return await _import_page(request, event, report=report, csv_text=text)
    web_session(request).flash("success", f"Imported {report.valid} slots.")
    return RedirectResponse(f"/organizer/events/{event_id}#slot-list", status_code=303)
