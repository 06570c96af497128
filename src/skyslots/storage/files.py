"""GET /files/<key>: the local folder's downloads, for URLs signed by LocalStorage.download_url."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from skyslots.errors import Forbidden, NotFound
from skyslots.storage.deps import StorageDep
from skyslots.storage.disposition import content_disposition
from skyslots.storage.keys import checked_key
from skyslots.storage.local import LocalStorage
from skyslots.storage.signing import signature_valid

router = APIRouter(include_in_schema=False)
mimetypes.add_type("text/calendar", ".ics")


@router.get("/files/{key:path}")
async def file_download(key: str, request: Request, storage: StorageDep) -> FileResponse:
    """A stored object, if the URL's signature is ours and has not expired (else 403)."""
    if not isinstance(storage, LocalStorage):
        raise NotFound("Files are served by the object storage.", code="file_not_found")
    try:
        checked_key(key)
    except ValueError:
        raise NotFound("No such file.", code="file_not_found") from None
    if not signature_valid(storage.secret, key, request.query_params):
        raise Forbidden("This download link is invalid or has expired.", code="bad_signature")
    path = storage.path_of(key)
    if not path.is_file():
        raise NotFound("That file is not available (any more).", code="file_not_found")
    content_type = request.query_params.get("type") or (
        mimetypes.guess_type(key)[0] or "application/octet-stream"
    )
    filename = request.query_params.get("filename")
    headers = {"Cache-Control": "private, no-store"}
    if filename:
        headers["Content-Disposition"] = content_disposition(filename)
    return FileResponse(path, media_type=content_type, headers=headers)
