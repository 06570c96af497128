"""The privacy endpoints: export and delete, for a signed-in person and by a manage token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from skyslots.accounts.deps import CurrentUser, DatabaseDep
from skyslots.privacy.erase import booking_personal_data_delete, me_delete
from skyslots.privacy.export import booking_data, my_data
from skyslots.privacy.schemas import EXPORT_FILENAME, BookingData, MyData
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["privacy"])
ManageToken = Annotated[str, Header(alias="X-Manage-Token", max_length=100)]
ATTACHMENT = {"Content-Disposition": f'attachment; filename="{EXPORT_FILENAME}"'}


@router.get("/me/data")
async def export_my_data(db: DatabaseDep, user: CurrentUser, response: Response) -> MyData:
    """Everything SkySlots stores about you, as a JSON download."""
    response.headers.update(ATTACHMENT)
    return await db.read(my_data, user=user)


@router.delete("/me", status_code=204)
async def delete_me(db: DatabaseDep, user: CurrentUser) -> Response:
    """Delete your account: bookings kept as "Deleted user", slots still held given back, no
    email left anywhere; 409 `owns_events` while you organize events."""
    await db.transaction(me_delete, user=user)
    return Response(status_code=204)


@router.get("/bookings/{booking_id}/data")
async def export_booking_data(
    booking_id: RowId, db: DatabaseDep, token: ManageToken, response: Response
) -> BookingData:
    """A booking as stored (name, callsign, email, notes) with its slot and event."""
    response.headers.update(ATTACHMENT)
    return await db.read(booking_data, booking_id=booking_id, manage_token=token)


@router.delete("/bookings/{booking_id}/personal-data", status_code=204, dependencies=RATE_LIMITED)
async def delete_booking_personal_data(
    booking_id: RowId, db: DatabaseDep, token: ManageToken
) -> Response:
    """Anonymise your booking ("Deleted user", no email or notes); a slot it holds is freed."""
    await db.transaction(booking_personal_data_delete, booking_id=booking_id, manage_token=token)
    return Response(status_code=204)
