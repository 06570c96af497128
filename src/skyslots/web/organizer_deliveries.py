"""The organizer's deliveries tab: every mail of the event and its state, "retry now" if failed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep
from skyslots.events.service import event_managed
from skyslots.models import Event, User
from skyslots.outbox.deliveries import (
    Delivery,
    DeliveryNotDead,
    deliveries_of_event,
    delivery_retry,
)
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm, OrganizerPage
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)


async def _event_and_deliveries(
    session: AsyncSession, *, event_id: int, user: User
) -> tuple[Event, list[Delivery]]:
    event = await event_managed(session, event_id=event_id, user=user)
    return event, await deliveries_of_event(session, event_id=event_id, user=user)


@router.get("/events/{event_id}/deliveries")
async def deliveries_page(
    request: Request, event_id: RowId, db: DatabaseDep, user: OrganizerPage
) -> Response:
    """Mails sent, waiting and failed, newest first."""
    event, deliveries = await db.read(_event_and_deliveries, event_id=event_id, user=user)
    context = {"event": event, "deliveries": deliveries, "tab": "deliveries"}
    return render(request, "organizer/deliveries.html", context)


@router.post("/deliveries/{delivery_id}/retry")
async def retry_form(
    request: Request, delivery_id: RowId, db: DatabaseDep, user: OrganizerPage, form: CheckedForm
) -> Response:
    """Retry a failed delivery now (the same service as POST /api/deliveries/{id}/retry)."""
    try:
        retried = await db.transaction(delivery_retry, delivery_id=delivery_id, user=user)
    except DeliveryNotDead as refusal:
        web_session(request).flash("error", refusal.detail)
        event_id = refusal.event_id
    else:
        web_session(request).flash("success", f"Delivery {delivery_id} is queued again.")
        event_id = retried.event_id  # type: ignore[assignment]
    return RedirectResponse(f"/organizer/events/{event_id}/deliveries", status_code=303)
