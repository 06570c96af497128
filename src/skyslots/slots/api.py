from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.slots.generate import slots_generate
from skyslots.slots.schemas import (
    GeneratePreview,
    GenerateResult,
    SlotCreate,
    SlotGenerate,
    SlotOut,
    SlotUpdate,
)
from skyslots.slots.service import slot_delete, slot_update, slots_create
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["slots"])


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


@router.post("/events/{event_id}/slots/generate", status_code=201)
async def generate_slots(
    event_id: RowId, data: Annotated[SlotGenerate, Body()], response: Response, db: DatabaseDep,
    user: OrganizerUser,
) -> GenerateResult | GeneratePreview:  # fmt: skip
    """Generate ATC blocks or pilot slots; 200 with a preview on `dry_run`, else 201."""
    if data.dry_run:
        response.status_code = 200
        return await db.read(slots_generate, event_id=event_id, user=user, request=data)
    return await db.transaction(slots_generate, event_id=event_id, user=user, request=data)
