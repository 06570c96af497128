"""The bookings CSV: UTF-8, a header row, RFC 4180 quoting, no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from skyslots.exports.data import BookingLine
from skyslots.slots.csv_io import guard_formula, iso_utc

COLUMNS = (
    "booking_id", "position_name", "position_type", "start_time", "end_time", "slot_time",
    "origin_icao", "destination_icao", "callsign", "name", "email", "status", "claimed_at",
    "released_at", "notes",
)  # fmt: skip


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, int):
        return str(value)
    return guard_formula(str(value))  # `'=HYPERLINK(…)`: shown as text, never run


def bookings_csv(lines: Iterable[BookingLine]) -> bytes:
    """Every booking as a CSV row (times in ISO 8601 UTC), CRLF line ends as RFC 4180 says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # minimal quoting: only where needed
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow([_cell(getattr(line, column)) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8")
