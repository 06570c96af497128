"""CSV import (checked in full, then all or nothing) and export of an event's slots."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.errors import SkySlotsError
from skyslots.events.service import event_managed
from skyslots.models import User
from skyslots.slots.csv_io import read_slots_csv, write_slots_csv
from skyslots.slots.schemas import ImportProblem, ImportReport, SlotCreate
from skyslots.slots.service import slot_problems, slots_create, slots_with_bookings


class ImportFailed(SkySlotsError):
    """422 with every problem of the file; nothing was imported."""

    status_code = 422
    code = "import_invalid"

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"The file has {len(report.errors)} problem(s); nothing was imported.")
        self.report = report

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.report.model_dump()}


async def slots_import(
    session: AsyncSession, *, event_id: int, user: User, data: bytes, apply: bool
) -> ImportReport:
    """Check a CSV of slots against the event; with `apply`, create every row or raise."""
    event = await event_managed(session, event_id=event_id, user=user)
    parsed = read_slots_csv(data, event)
    errors = list(parsed.errors)
    valid: list[SlotCreate] = []
    for line, item in parsed.rows:
        problems = slot_problems(
            event, start=item.start_time, end=item.end_time, slot_time=item.slot_time
        )
        errors += [ImportProblem(line=line, column=f, message=m) for f, m in problems]
        if not problems:
            valid.append(item)
    report = ImportReport(valid=len(valid), errors=sorted(errors, key=lambda e: e.line))
    if apply:
        if report.errors:
            raise ImportFailed(report)
        await slots_create(session, event_id=event_id, user=user, items=valid)
    return report


async def slots_export(session: AsyncSession, *, event_id: int, user: User) -> str:
    """The event's slots as CSV in roster order, in the columns the import reads."""
    await event_managed(session, event_id=event_id, user=user)
    rows = await slots_with_bookings(session, event_id=event_id)
    return write_slots_csv(slot for slot, _booking in rows)
