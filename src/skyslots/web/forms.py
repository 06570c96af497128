"""Turning HTML forms into the services' request models, and their errors into field messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from skyslots.errors import ValidationFailed
from skyslots.slots.schemas import SlotCreate
from skyslots.validation import as_utc

M = TypeVar("M", bound=BaseModel)
GENERAL = "__all__"
MAX_BULK = 2_000


class FormErrors(Exception):
    """Messages keyed by field name (GENERAL for the form as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def form_values(form: FormData, fields: Iterable[str]) -> dict[str, str]:
    """The named text fields of a form, trimmed ("" when absent)."""
    values = {}
    for name in fields:
        value = form.get(name)
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def _message(msg: str) -> str:
    text = msg.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]


def validation_messages(exc: ValidationError) -> dict[str, str]:
    """Pydantic errors as {field: message}, first message per field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
        errors.setdefault(loc[0] if loc else GENERAL, _message(error["msg"]))
    return errors


def domain_messages(exc: ValidationFailed) -> dict[str, str]:
    """A service's 422 as {field: message}."""
    names = [str(p) for p in exc.loc if p != "body" and not isinstance(p, int)]
    return {names[-1] if names else GENERAL: _message(exc.detail)}


def form_errors(exc: FormErrors | ValidationFailed) -> dict[str, str]:
    """Field messages from either the form's own checks or a service's 422."""
    return exc.errors if isinstance(exc, FormErrors) else domain_messages(exc)


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form data with a request model; FormErrors with messages per field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormErrors(validation_messages(exc)) from exc


def _utc(text: str, field: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise FormErrors({field: "Give a date and time (UTC)."}) from exc


def expand_bulk(*, kind: str, lines: str, start: str, end: str, minutes: str) -> list[SlotCreate]:
    """Positions x time blocks: each line (a callsign or a route) gets one slot per block."""
    names = [" ".join(line.split()) for line in lines.splitlines() if line.strip()]
    if not names:
        raise FormErrors({"lines": "List at least one position or route, one per line."})
    first, last = _utc(start, "start"), _utc(end, "end")
    if last <= first:
        raise FormErrors({"end": "The end must be after the start."})
    if not minutes.isdigit() or not 1 <= int(minutes) <= 24 * 60:
        raise FormErrors({"minutes": "A whole number of minutes between 1 and 1440."})
    step = timedelta(minutes=int(minutes))
    blocks = []
    moment = first
    while moment < last:
        blocks.append((moment, min(moment + step, last)))
        moment += step
    if len(blocks) * len(names) > MAX_BULK:
        raise FormErrors({GENERAL: f"That is {len(blocks) * len(names)} slots; the limit is 2000."})
    position_type = "PILOT" if kind == "pilot" else None
    items: list[dict[str, Any]] = [
        {"position_name": name, "position_type": position_type, "start_time": s, "end_time": e}
        for name in names
        for s, e in blocks
    ]
    try:
        return [SlotCreate.model_validate(item) for item in items]
    except ValidationError as exc:
        raise FormErrors({"lines": _message(exc.errors()[0]["msg"])}) from exc


NAME_REQUIRED = "a name is required (or sign in to book as yourself)"


def parse_booker(
    model: type[M], values: dict[str, Any], *, signed_in: bool, missing: str = NAME_REQUIRED
) -> M:
    """A booking, waitlist or assign form's data: a missing name is reported with the other
    fields' errors, unless the person is signed in (the account's name is used then)."""
    nameless = not signed_in and not str(values.get("pilot_name") or "").strip()
    try:
        parsed = parse(model, values)
    except FormErrors as exc:
        if nameless:
            exc.errors.setdefault("pilot_name", missing)
        raise
    if nameless:
        raise FormErrors({"pilot_name": missing})
    return parsed
