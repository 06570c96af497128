"""Exports at event size: an event with 2,000 pilot slots, each booked (`--slots`), on a scratch
SQLite database made by the migrations. For CSV, PDF and ICS: generation time (reading the
roster included) and peak memory, each measured in a fresh subprocess (the process's max RSS,
and tracemalloc's peak from a second run, since tracing slows it). Target: 2 s, 200 MB each.

    .venv/bin/python bench/exports.py [--slots 2000]

ICS: the event calendar (`skyslots.calendars`), read from the database as a request does: the
event and one VEVENT per staffed ATC block (the seeded slots are pilot slots, so it measures the
reads over 2,000 bookings and the event's entry).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

import common
from skyslots.accounts.schemas import UserCreate
from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.events.schemas import EventCreate
from skyslots.migrate import migrate
from skyslots.models import Booking

FORMATS = ("csv", "pdf", "ics")
PUBLIC_URL = "http://127.0.0.1:8000"


def _settings(url: str, folder: Path) -> Settings:
    return Settings(database_url=url, data_dir=folder, secret_key="x" * 32, env="test")


async def _seed(url: str, folder: Path, slots: int) -> int:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    seed = await common.seed_event(
        url, data_dir=folder,
        organizer=UserCreate(email="bench@example.com", name="Bench", role="organizer",
                             password="correct horse battery"),
        event=EventCreate(title="Bench Rush", airport_icao="EGLL", start_datetime=start,
                          end_datetime=start + timedelta(hours=6), status="published"),
        slot_names=[f"EGLL-KJFK {i:04d}" for i in range(slots)],
    )  # fmt: skip
    db = Database(_settings(url, folder))
    rows = [
        {"slot_id": slot_id, "event_id": seed.event_id, "pilot_name": f"Pilot Zoë {n}",
         "pilot_callsign": f"BAW{n}", "email": f"p{n}@example.com", "status": "claimed",
         "claimed_at": utcnow(), "manage_token_hash": "0" * 64, "notes": ""}
        for n, slot_id in enumerate(seed.slot_ids)
    ]  # fmt: skip

    async def book(session: object) -> None:
        await session.execute(insert(Booking.__table__), rows)  # type: ignore[attr-defined]

    await db.transaction(book)
    await db.dispose()
    return seed.event_id


async def _child(
    url: str, folder: Path, event_id: int, format: str, *, trace: bool
) -> dict[str, object]:
    from skyslots.calendars.service import event_calendar_now
    from skyslots.exports.csv_file import bookings_csv
    from skyslots.exports.data import export_data
    from skyslots.exports.pdf import roster_pdf

    db = Database(_settings(url, folder))
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    note = ""
    if format == "ics":
        _, content = await db.read(event_calendar_now, event_id=event_id, public_url=PUBLIC_URL)
        note = "the event calendar (skyslots.calendars)"
    else:
        data = await db.read(export_data, event_id=event_id)
        content = bookings_csv(data.bookings) if format == "csv" else roster_pdf(data, now=utcnow())
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    await db.dispose()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"format": format, "seconds": seconds, "peak_mb": peak / 2**20,
            "rss_mb": rss_kib / 1024, "bytes": len(content), "note": note}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=2000)
    parser.add_argument("--child", nargs=5, metavar=("URL", "FOLDER", "EVENT", "FORMAT", "TRACE"))
    args = parser.parse_args()
    if args.child:
        url, folder, event_id, format, trace = args.child
        work = _child(url, Path(folder), int(event_id), format, trace=trace == "trace")
        print(json.dumps(asyncio.run(work)))
        return
    folder = Path(tempfile.mkdtemp(prefix="skyslots-bench-exports-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    migrate(url)
    event_id = asyncio.run(_seed(url, folder, args.slots))
    print(f"event {event_id}: {args.slots} pilot slots, all booked (SQLite, {folder})")
    print(f"{'format':6} {'seconds':>8} {'peak MB':>8} {'RSS MB':>7} {'size KB':>8}  note")
    for format in FORMATS:
        child = [sys.executable, __file__, "--child", url, str(folder), str(event_id), format]
        result = json.loads(
            subprocess.run([*child, "time"], check=True, capture_output=True).stdout
        )
        traced = json.loads(
            subprocess.run([*child, "trace"], check=True, capture_output=True).stdout
        )
        size = result["bytes"] / 1024  # type: ignore[operator]
        print(
            f"{format:6} {result['seconds']:8.2f} {traced['peak_mb']:8.1f} "
            f"{result['rss_mb']:7.1f} {size:8.0f}  {result['note']}"
        )


if __name__ == "__main__":
    main()
