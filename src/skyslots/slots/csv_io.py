"""Slots as CSV: the columns, their synonyms, times as ISO 8601 or HHMM Zulu, formula guarding."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError

from skyslots.errors import TooLarge
from skyslots.models import Event, Slot
from skyslots.ratings import rating_name
from skyslots.slots.schemas import ImportProblem, SlotCreate
from skyslots.validation import as_utc

COLUMNS = (
    "position_name", "position_type", "start_time", "end_time", "origin_icao",
    "destination_icao", "slot_time", "aircraft_type", "route", "callsign", "notes", "locked",
    "min_rating",
)  # fmt: skip
MAX_ROWS = 5_000
# Other names a header may use (compared case-insensitively, spaces and hyphens as underscores).
SYNONYMS = {
    "position": "position_name", "name": "position_name",
    "position_type": "position_type", "kind": "position_type",
    "start": "start_time", "from": "start_time",
    "end": "end_time", "to": "end_time",
    "origin": "origin_icao", "departure": "origin_icao", "dep": "origin_icao",
    "adep": "origin_icao",
    "destination": "destination_icao", "dest": "destination_icao", "arrival": "destination_icao",
    "arr": "destination_icao", "ades": "destination_icao",
    "ctot": "slot_time", "eta": "slot_time",
    "aircraft": "aircraft_type", "ac_type": "aircraft_type", "actype": "aircraft_type",
    "equipment": "aircraft_type",
    "call_sign": "callsign", "note": "notes", "remarks": "notes", "comment": "notes",
    "comments": "notes", "is_locked": "locked", "lock": "locked",
    "rating": "min_rating", "required_rating": "min_rating", "minimum_rating": "min_rating",
} | {column: column for column in COLUMNS}  # fmt: skip
AMBIGUOUS = {
    "type": "name it position_type (DEL, TWR, PILOT …) or aircraft_type (B77W …)",
    "time": "name it start_time, end_time or slot_time",
}
MODEL_FIELDS = {"locked": "is_locked"}
COLUMN_OF = {"is_locked": "locked"}
TRUE, FALSE = {"true", "yes", "y", "1", "x"}, {"false", "no", "n", "0"}
HHMM = re.compile(r"^([0-2]\d):?([0-5]\d)z?$", re.IGNORECASE)
# Spreadsheets run cells starting with these as formulas; export prefixes them with `'`.
FORMULA = re.compile(r"^'*[=+\-@\t\r]")
ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def guard_formula(text: str) -> str:
    """`'=1+1` for `=1+1`: the cell reads as text; `unguard_formula` undoes it exactly."""
    return f"'{text}" if FORMULA.match(text) else text


def unguard_formula(text: str) -> str:
    return text[1:] if ESCAPED.match(text) else text


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str, event: Event) -> datetime:
    """ISO 8601 (naive means UTC), or HHMM Zulu on the event's first day (before its start: the
    next day)."""
    match = HHMM.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23:
            raise ValueError(f"{text!r} is not a time of day; HHMM runs from 0000 to 2359")
        moment = datetime.combine(event.start_datetime.date(), time(hour, minute), tzinfo=UTC)
        if moment >= event.start_datetime:
            return moment
        try:
            return moment + timedelta(days=1)
        except OverflowError:
            raise ValueError(f"{text!r} would fall after the last representable day") from None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: give ISO 8601 (2026-12-10T18:00Z) or HHMM Zulu (1800)"
        ) from None


def parse_locked(text: str, _event: Event) -> bool:
    value = text.lower()
    if value in TRUE | FALSE:
        return value in TRUE
    raise ValueError(f"{text!r} is not true or false")


CONVERTERS: dict[str, Callable[[str, Event], Any]] = {
    "start_time": parse_time,
    "end_time": parse_time,
    "slot_time": parse_time,
    "locked": parse_locked,
    "position_type": lambda text, _event: text.upper(),
}


@dataclass
class ParsedCsv:
    """The rows that passed the schema (with their line numbers) and every problem found."""

    rows: list[tuple[int, SlotCreate]] = field(default_factory=list)
    errors: list[ImportProblem] = field(default_factory=list)

    def problem(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(ImportProblem(line=line, column=column, message=message))


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _columns(header: list[str], parsed: ParsedCsv, line: int) -> list[str | None]:
    """The canonical column of each header cell (None: an unnamed, ignored column)."""
    columns: list[str | None] = []
    for name in header:
        key = _header_key(name)
        column = SYNONYMS.get(key)
        if not key:
            columns.append(None)
            continue
        if key in AMBIGUOUS:
            parsed.problem(line, name, f"the column {name!r} is ambiguous: {AMBIGUOUS[key]}")
        elif column is None:
            parsed.problem(
                line, name, f"unknown column {name!r}; the columns are {', '.join(COLUMNS)}"
            )
        elif column in columns:
            parsed.problem(line, column, f"the column {column} is given twice")
        columns.append(column)
    if "position_name" not in columns:
        parsed.problem(line, None, "the header row must have a position_name column")
    return columns


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _row(
    line: int, columns: list[str | None], cells: list[str], event: Event, parsed: ParsedCsv
) -> None:
    """Validate one row: its cells, then the whole slot through SlotCreate."""
    values: dict[str, Any] = {}
    failed: set[str | None] = set()
    if any(cell.strip() for cell in cells[len(columns) :]):
        parsed.problem(line, None, f"the row has more cells than the header's {len(columns)}")
        failed.add(None)
    for column, raw in zip(columns, cells, strict=False):
        cell = unguard_formula(raw.strip())
        if not cell:
            continue
        if column is None:
            parsed.problem(line, None, "a cell under a column without a name in the header")
            failed.add(None)
            continue
        try:
            values[MODEL_FIELDS.get(column, column)] = CONVERTERS.get(column, lambda t, _e: t)(
                cell, event
            )
        except ValueError as exc:
            parsed.problem(line, column, str(exc))
            failed.add(column)
    try:
        item = SlotCreate.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            loc = [part for part in error["loc"] if isinstance(part, str)]
            column = COLUMN_OF.get(loc[0], loc[0]) if loc else None
            if column not in failed and not (column is None and failed):
                parsed.problem(line, column, _message(error["msg"]))
        return
    if not failed:
        parsed.rows.append((line, item))


def read_slots_csv(data: bytes, event: Event) -> ParsedCsv:
    """Parse a CSV of slots for `event`; TooLarge past MAX_ROWS rows."""
    parsed = ParsedCsv()
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte order mark goes too
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        parsed.problem(line, None, "the file is not UTF-8 text: save it as CSV (UTF-8)")
        return parsed
    try:
        delimiter = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str | None] | None = None
    count = read_to = 0
    try:
        for cells in reader:
            line, read_to = read_to + 1, reader.line_num  # a quoted cell may span lines
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = _columns(cells, parsed, line)
                if parsed.errors:
                    return parsed
                continue
            count += 1
            if count > MAX_ROWS:
                raise TooLarge(f"The file has more than {MAX_ROWS} slot rows; split it.")
            _row(line, columns, cells, event, parsed)
    except csv.Error as exc:
        parsed.problem(read_to + 1, None, f"the file is not readable as CSV: {exc}")
    if columns is None:
        parsed.problem(1, None, "the file is empty: the first row must name the columns")
    elif count == 0:
        parsed.problem(1, None, "the file has a header but no slot rows")
    return parsed


def write_slots_csv(slots: Iterable[Slot]) -> str:
    """The slots as CSV with the COLUMNS header; times in ISO 8601 UTC, text guarded."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for slot in slots:
        writer.writerow(
            [
                rating_name(slot.min_rating) if c == "min_rating" and slot.min_rating else
                _cell(getattr(slot, MODEL_FIELDS.get(c, c)))
                for c in COLUMNS
            ]
        )  # fmt: skip
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_utc(value)
    return guard_formula(str(value))
