"""The booker's manage link: see the booking, release it, download or delete its personal data,
with the one-time token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from skyslots.accounts.deps import DatabaseDep
from skyslots.bookings.confirm import booking_confirm
from skyslots.bookings.manage import booking_for_token
from skyslots.bookings.release import booking_release
from skyslots.errors import Conflict
from skyslots.features.deps import requires_feature
from skyslots.privacy.api import ATTACHMENT
from skyslots.privacy.erase import booking_personal_data_delete
from skyslots.privacy.export import booking_data
from skyslots.ratelimit.deps import RATE_LIMITED
from skyslots.validation import RowId
from skyslots.web.deps import CheckedForm
from skyslots.web.forms import form_values
from skyslots.web.templating import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
CONFIRMING = requires_feature("email_confirmation")


async def _manage_page(
    request: Request, db: DatabaseDep, booking_id: int, token: str, **extra: object
) -> Response:
    managed = await db.read(booking_for_token, booking_id=booking_id, manage_token=token)
    context = {
        "managed": managed, "token": token, "released": False, "notice": None,
        "deleting": False, "forgotten": False, **extra,
    }  # fmt: skip
    return render(request, "manage.html", context)


@router.get("/bookings/{booking_id}/manage")
async def manage_page(
    request: Request,
    booking_id: int,
    db: DatabaseDep,
    token: Annotated[str, Query()] = "",
    delete: Annotated[bool, Query()] = False,
) -> Response:
    """A booking as its booker sees it, with buttons to release it, download or delete its data
    (`delete=1`: the deletion's confirmation step)."""
    return await _manage_page(request, db, booking_id, token, deleting=delete)


@router.get("/bookings/{booking_id}/data")
async def booking_data_download(
    booking_id: RowId, db: DatabaseDep, token: Annotated[str, Query()] = ""
) -> Response:
    """The manage page's "Download my data": GET /api/bookings/{id}/data as a file."""
    data = await db.read(booking_data, booking_id=booking_id, manage_token=token)
    return Response(data.model_dump_json(), media_type="application/json", headers=ATTACHMENT)


@router.post("/bookings/{booking_id}/personal-data", dependencies=RATE_LIMITED)
async def personal_data_form(
    request: Request, booking_id: RowId, db: DatabaseDep, form: CheckedForm
) -> Response:
    """Delete the booking's personal data (DELETE /api/bookings/{id}/personal-data's service)."""
    token = form_values(form, ["token"])["token"]
    await db.transaction(booking_personal_data_delete, booking_id=booking_id, manage_token=token)
    return await _manage_page(request, db, booking_id, token, forgotten=True)


@router.post("/bookings/{booking_id}/manage", dependencies=RATE_LIMITED)
async def release_form(
    request: Request, booking_id: int, db: DatabaseDep, form: CheckedForm
) -> Response:
    """Release the booking (the same service as POST /api/bookings/{id}/release)."""
    token = form_values(form, ["token"])["token"]
    try:
        await db.transaction(booking_release, booking_id=booking_id, manage_token=token, user=None)
    except Conflict as exc:
        return await _manage_page(request, db, booking_id, token, notice=exc.detail)
    return await _manage_page(request, db, booking_id, token, released=True)


@router.get("/bookings/{booking_id}/confirm", dependencies=[CONFIRMING])
async def confirm_page(
    request: Request, booking_id: RowId, db: DatabaseDep, token: Annotated[str, Query()] = ""
) -> Response:
    """The confirmation mail's link: the booking, with its Confirm button."""
    return await _manage_page(request, db, booking_id, token)


@router.post("/bookings/{booking_id}/confirm", dependencies=[CONFIRMING, *RATE_LIMITED])
async def confirm_form(
    request: Request, booking_id: RowId, db: DatabaseDep, form: CheckedForm
) -> Response:
    """Confirm the booking (the same service as POST /api/bookings/{id}/confirm)."""
    token = form_values(form, ["token"])["token"]
    try:
        await db.transaction(booking_confirm, booking_id=booking_id, token=token)
    except Conflict as exc:
        return await _manage_page(request, db, booking_id, token, notice=exc.detail)
    return await _manage_page(
        request, db, booking_id, token, notice="Confirmed: the slot is yours."
    )
