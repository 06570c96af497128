from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict

from skyslots.accounts.deps import DatabaseDep, OptionalUser
from skyslots.accounts.security import client_key
from skyslots.features.deps import requires_feature
from skyslots.holds.service import hold_cancel, hold_create
from skyslots.metrics import counted, hold_outcome
from skyslots.ratelimit.deps import RATE_LIMITED, client_address
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["holds"], dependencies=[requires_feature("holds")])


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    hold_id: int
    slot_id: int
    event_id: int
    hold_token: str
    expires_at: datetime


@router.post("/slots/{slot_id}/hold", status_code=201, dependencies=RATE_LIMITED)
async def hold_slot(
    slot_id: RowId, request: Request, db: DatabaseDep, user: OptionalUser
) -> HoldOut:
    """Hold a free slot while the booking form is filled in; book it with the hold_token."""
    key = client_key(client_address(request), secret=request.app.state.settings.secret_key)
    with counted("hold"):
        hold = await db.transaction(hold_create, slot_id=slot_id, client_key=key, user=user)
    return HoldOut.model_validate(hold)


@router.delete("/holds/{hold_id}", status_code=204)
async def cancel_hold(
    hold_id: RowId,
    db: DatabaseDep,
    hold_token: Annotated[str, Header(alias="X-Hold-Token", max_length=100)],
) -> Response:
    """Give a hold up (the slot is free again at once)."""
    await db.transaction(hold_cancel, hold_id=hold_id, hold_token=hold_token)
    hold_outcome("released")
    return Response(status_code=204)
