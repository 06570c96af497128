"""Reading an uploaded CSV (a raw body or a multipart `file`), never more than the limit."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message

from skyslots.errors import TooLarge, UnsupportedMediaType, ValidationFailed

MAX_UPLOAD_BYTES = 1024 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the other (small) fields
CSV_MEDIA_TYPES = {"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", ""}


def _too_large() -> TooLarge:
    return TooLarge(f"The file is larger than {MAX_UPLOAD_BYTES // 1024} KiB; split it.")


def _no_file() -> ValidationFailed:
    return ValidationFailed("file", "send the CSV as a text/csv body or as the form field `file`")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it grows past `limit` bytes."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large()
    return bytes(body)


async def upload_form(request: Request) -> FormData:
    """A multipart (or urlencoded) form read within the upload limit."""
    body = await read_body(request, MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    limit = MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    return await Request(request.scope, replay).form(
        max_files=1, max_fields=50, max_part_size=limit
    )


async def form_csv(form: FormData) -> bytes | None:
    """The CSV of a form: the uploaded `file`, else the text field `csv`; None when neither."""
    upload = form.get("file")
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
    elif isinstance(upload, str):
        data = upload.encode()
    if not data:
        text = form.get("csv")
        data = text.encode() if isinstance(text, str) else b""
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large()
    return data or None


async def uploaded_csv(request: Request) -> bytes:
    """The CSV sent as the body (`text/csv`) or as the multipart form field `file`."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await upload_form(request)
        if "file" not in form and "csv" not in form:
            raise _no_file()
        return await form_csv(form) or b""
    if media_type in CSV_MEDIA_TYPES:
        body = await read_body(request, MAX_UPLOAD_BYTES)
        if not body and not media_type:  # no file at all (an empty text/csv is reported)
            raise _no_file()
        return body
    raise UnsupportedMediaType(
        f"Send the CSV as text/csv or as the multipart form field `file`, not {media_type}."
    )
