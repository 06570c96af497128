from __future__ import annotations

from fastapi import APIRouter

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.outbox.deliveries import Delivery, deliveries_of_event, delivery_retry
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["deliveries"])


@router.get("/events/{event_id}/deliveries")
async def list_deliveries(event_id: RowId, db: DatabaseDep, user: OrganizerUser) -> list[Delivery]:
    """Organizer: the event's mails (and later posts and webhook calls), newest first."""
    return await db.read(deliveries_of_event, event_id=event_id, user=user)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_delivery(delivery_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Delivery:
    """Organizer: try a failed (dead) delivery again now."""
    return await db.transaction(delivery_retry, delivery_id=delivery_id, user=user)
