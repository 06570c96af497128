from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.events.service import event_managed
from skyslots.slots.exchange import slots_export, slots_import
from skyslots.slots.generate import slots_generate
from skyslots.slots.locks import slots_lock
from skyslots.slots.schemas import (
    GeneratePreview,
    GenerateResult,
    ImportReport,
    ImportResult,
    SlotCreate,
    SlotGenerate,
    SlotLock,
    SlotLockResult,
    SlotOut,
    SlotUpdate,
)
from skyslots.slots.service import slot_delete, slot_update, slots_create
from skyslots.slots.upload import uploaded_csv
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["slots"])
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            # Any text is a CSV to be reported on (docs/import.md): nothing to refuse by type.
            "text/csv": {"schema": {"description": "the CSV, its first row naming the columns"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


@router.post("/events/{event_id}/slots", status_code=201)
async def create_slot(
    event_id: RowId, data: SlotCreate, db: DatabaseDep, user: OrganizerUser
) -> SlotOut:
    """Add one slot to an event."""
    [slot] = await db.transaction(slots_create, event_id=event_id, user=user, items=[data])
    return SlotOut.model_validate(slot)


@router.post("/events/{event_id}/slots/bulk", status_code=201)
async def create_slots(
    event_id: RowId,
    data: Annotated[list[SlotCreate], Body(min_length=1, max_length=2_000)],
    db: DatabaseDep,
    user: OrganizerUser,
) -> list[SlotOut]:
    """Add many slots at once: all are created, or none (the first error is reported)."""
    slots = await db.transaction(slots_create, event_id=event_id, user=user, items=data)
    return [SlotOut.model_validate(slot) for slot in slots]


@router.post("/events/{event_id}/slots/lock")
async def lock_slots(
    event_id: RowId, data: SlotLock, db: DatabaseDep, user: OrganizerUser
) -> SlotLockResult:
    """Lock or unlock many of the event's slots at once; all change, or none (422)."""
    changed = await db.transaction(
        slots_lock, event_id=event_id, user=user, slot_ids=data.slot_ids, locked=data.locked
    )
    return SlotLockResult(updated=len(changed))


@router.patch("/slots/{slot_id}")
async def update_slot(
    slot_id: RowId, data: SlotUpdate, db: DatabaseDep, user: OrganizerUser
) -> SlotOut:
    """Lock or unlock a slot, change its notes, order, time block or (pilot slots) flight."""
    slot = await db.transaction(slot_update, slot_id=slot_id, user=user, data=data)
    return SlotOut.model_validate(slot)


@router.delete("/slots/{slot_id}", status_code=204)
async def delete_slot(slot_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Response:
    """Delete a slot; 409 while it holds a claimed booking."""
    await db.transaction(slot_delete, slot_id=slot_id, user=user)
    return Response(status_code=204)


@router.post(
    "/events/{event_id}/slots/generate",
    status_code=201,
    responses={200: {"model": GeneratePreview, "description": "the preview (`dry_run`)"}},
)
async def generate_slots(
    event_id: RowId, data: Annotated[SlotGenerate, Body()], response: Response, db: DatabaseDep,
    user: OrganizerUser,
) -> GenerateResult | GeneratePreview:  # fmt: skip
    """Generate ATC blocks or pilot slots; 200 with a preview on `dry_run`, else 201."""
    if data.dry_run:
        response.status_code = 200
        return await db.read(slots_generate, event_id=event_id, user=user, request=data)
    return await db.transaction(slots_generate, event_id=event_id, user=user, request=data)


@router.post(
    "/events/{event_id}/slots/import",
    status_code=201,
    openapi_extra=IMPORT_BODY,
    responses={
        200: {"model": ImportReport, "description": "dry run"},
        400: {},
        413: {},
        415: {},
        422: {},
    },
)
async def import_slots(
    event_id: RowId, request: Request, response: Response, db: DatabaseDep, user: OrganizerUser,
    dry_run: bool = False,
) -> ImportResult | ImportReport:  # fmt: skip
    """Import slots from CSV (docs/import.md): all rows or none; `dry_run` reports every error."""
    await db.read(event_managed, event_id=event_id, user=user)  # 404/403 before the upload
    data = await uploaded_csv(request)
    if dry_run:
        response.status_code = 200
        return await db.read(slots_import, event_id=event_id, user=user, data=data, apply=False)
    report = await db.transaction(slots_import, event_id=event_id, user=user, data=data, apply=True)
    return ImportResult(created=report.valid)


@router.get(
    "/events/{event_id}/slots.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the slots as CSV"}},
)
async def export_slots(event_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Response:
    """The event's slots as CSV, in the columns the import reads."""
    text = await db.read(slots_export, event_id=event_id, user=user)
    filename = f"skyslots-event-{event_id}-slots.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
