from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.audit.service import audit_list
from skyslots.events.service import event_managed
from skyslots.models import AuditLog, User
from skyslots.validation import Offset, RowId

router = APIRouter(prefix="/api", tags=["audit"])


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int | None
    user_id: int | None
    actor: str
    action_type: str
    payload: dict[str, Any]
    created_at: datetime


async def _event_audit(
    session: AsyncSession, *, event_id: int, user: User, limit: int, offset: int
) -> list[AuditLog]:
    await event_managed(session, event_id=event_id, user=user)
    return await audit_list(session, event_id=event_id, limit=limit, offset=offset)


@router.get("/events/{event_id}/audit")
async def event_audit(
    event_id: RowId,
    db: DatabaseDep,
    user: OrganizerUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> list[AuditEntry]:
    """The event's audit log, newest first."""
    rows = await db.read(_event_audit, event_id=event_id, user=user, limit=limit, offset=offset)
    return [AuditEntry.model_validate(row) for row in rows]
