"""How every artifact endpoint answers: a 307 redirect to the object's expiring download URL, or
the bytes streamed by the app when the client asks `?inline=1`."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi.responses import RedirectResponse, Response, StreamingResponse

from skyslots.errors import NotFound
from skyslots.storage.base import Storage
from skyslots.storage.disposition import content_disposition


async def download_response(
    storage: Storage,
    key: str,
    *,
    filename: str,
    content_type: str,
    inline: bool = False,
    headers: Mapping[str, str] | None = None,
    known_present: bool = False,
) -> Response:
    """307 to the download URL, or (inline) the object itself; 404 when there is no object
    (`known_present` skips that check for a caller that has just stored or seen it)."""
    if not known_present and not await storage.exists(key):
        raise NotFound("That file is not available (any more).", code="file_not_found")
    extra = dict(headers or {})
    if not inline:
        url = storage.download_url(key, filename=filename, content_type=content_type)
        return RedirectResponse(url, status_code=307, headers=extra | {"Cache-Control": "no-store"})
    extra["Content-Disposition"] = content_disposition(filename, inline=True)
    return StreamingResponse(storage.stream(key), media_type=content_type, headers=extra)
