"""Export routes: request one, follow its progress, list an event's; the roster image's stable
address."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from skyslots.accounts.deps import DatabaseDep, OptionalUser, OrganizerUser
from skyslots.db import utcnow
from skyslots.events.service import event_visible
from skyslots.exports.data import export_data
from skyslots.exports.png import roster_png
from skyslots.exports.schemas import ExportOut, ExportQueued, ExportRequest
from skyslots.exports.service import (
    CONTENT_TYPES,
    download_name,
    export_get,
    export_out,
    export_request,
    exports_of_event,
    newest_image,
)
from skyslots.models.export import ExportFormat, ExportStatus
from skyslots.storage.deps import StorageDep
from skyslots.storage.download import download_response
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["exports"])


@router.post("/events/{event_id}/exports", status_code=202)
async def request_export(
    event_id: RowId, data: ExportRequest, db: DatabaseDep, user: OrganizerUser
) -> ExportQueued:
    """Organizer: export the bookings (csv), the printable roster (pdf) or the roster image
    (png) in the background; the same request within a minute returns the same export."""
    export = await db.transaction(export_request, event_id=event_id, format=data.format, user=user)
    return ExportQueued(id=export.id or 0, status=ExportStatus(export.status))


@router.get("/exports/{export_id}")
async def get_export(
    export_id: RowId, db: DatabaseDep, storage: StorageDep, user: OrganizerUser
) -> ExportOut:
    """Organizer: the export's status and progress, and its download URL once done."""
    return export_out(await db.read(export_get, export_id=export_id, user=user), storage)


@router.get("/events/{event_id}/exports")
async def list_exports(
    event_id: RowId, db: DatabaseDep, storage: StorageDep, user: OrganizerUser
) -> list[ExportOut]:
    """Organizer: the event's exports, newest first (at most 100)."""
    exports = await db.read(exports_of_event, event_id=event_id, user=user)
    return [export_out(export, storage) for export in exports]


@router.get(
    "/events/{event_id}/roster.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 307: {"description": "the newest image"}},
)
async def roster_image(
    event_id: RowId,
    db: DatabaseDep,
    storage: StorageDep,
    viewer: OptionalUser,
    inline: bool = Query(default=False, description="the image itself, not a redirect"),
) -> Response:
    """The event's roster image (1200x630, for link previews and Discord): a redirect to the
    newest one; before the first is stored, the image made now."""
    await db.read(event_visible, event_id=event_id, viewer=viewer)
    image = await db.read(newest_image, event_id=event_id)
    if image is not None and image.object_key is not None:
        return await download_response(
            storage, image.object_key, filename=download_name(image),
            content_type=CONTENT_TYPES[ExportFormat.PNG], inline=inline,
        )  # fmt: skip
    data = await db.read(export_data, event_id=event_id)
    return Response(roster_png(data, now=utcnow()), media_type="image/png",
                    headers={"Cache-Control": "no-cache"})  # fmt: skip
