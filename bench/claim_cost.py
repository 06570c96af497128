"""What an email adds to a claim, without HTTP: claims through the booking service on PostgreSQL.

    .venv/bin/python bench/claim_cost.py [--batches 10] [--batch 150] [--concurrency 8]

One seeded event of pilot slots; batches of claims with and without an email alternate (the
order flips every batch), `--concurrency` at a time through `booking_claim` in this process, on
one database. Measured per kind: claims/s (median of its batches) and this process's CPU per
claim. The HTTP rush in bench/notifications.py adds the server, the client and the kick to Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from booking_rush import build_template, copy_database
from common import database_url, drop_database, write_section
from skyslots.bookings.schemas import BookingCreate
from skyslots.bookings.service import booking_claim
from skyslots.config import Settings
from skyslots.db import Database

SECTION = "## Claim cost of an email (in-process)"


async def batch(db: Database, slot_ids: Sequence[int], *, email: bool, concurrency: int
                ) -> tuple[float, float]:  # fmt: skip
    """Claims/s and CPU milliseconds per claim for one batch."""
    gate = asyncio.Semaphore(concurrency)

    async def claim(slot_id: int) -> None:
        data = BookingCreate(
            pilot_name=f"Pilot {slot_id}",
            pilot_callsign=f"CC{slot_id:06d}",
            email=f"pilot{slot_id}@example.com" if email else None,
        )
        async with gate:
            await db.transaction(booking_claim, slot_id=slot_id, data=data)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(claim(s) for s in slot_ids))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(slot_ids) / wall, cpu / len(slot_ids) * 1000


async def main(args: argparse.Namespace) -> int:
    template = f"bench_cost_{uuid.uuid4().hex[:8]}"
    work_dir = Path("/tmp") / template
    work_dir.mkdir(parents=True, exist_ok=True)
    seed = await build_template(template, args.batches * 2 * args.batch, work_dir)
    database = await copy_database(template)
    db = Database(Settings(database_url=database_url(database), data_dir=work_dir,
                           secret_key="x" * 32))  # fmt: skip
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    try:
        slots = iter(seed.slot_ids)
        for n in range(args.batches * 2):
            email = (n % 2 == 0) == (n // 2 % 2 == 0)
            ids = [next(slots) for _ in range(args.batch)]
            results[email].append(await batch(db, ids, email=email, concurrency=args.concurrency))
    finally:
        await db.dispose()
        await drop_database(database)
        await drop_database(template)
    rate = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in results.items()}
    print(f"with email {rate[True]:.0f} claims/s ({cpu[True]:.2f} ms CPU), without"
          f" {rate[False]:.0f} ({cpu[False]:.2f} ms): {rate[True] / rate[False]:.0%}")  # fmt: skip
    if args.write_docs:
        write_section(SECTION, render(args, rate, cpu))
    return 0


def render(args: argparse.Namespace, rate: dict[bool, float], cpu: dict[bool, float]) -> str:
    return "\n".join([
        SECTION,
        "",
        f"`.venv/bin/python bench/claim_cost.py --batches {args.batches} --batch {args.batch}"
        f" --concurrency {args.concurrency}` ({time.strftime('%Y-%m-%d')}, 2 cores, PostgreSQL on"
        " the same machine). Medians of the batches:",
        "",
        "| claims | claims/s | Python CPU per claim |",
        "|---|---|---|",
        f"| with an email (its outbox row) | {rate[True]:.0f} | {cpu[True]:.2f} ms |",
        f"| without | {rate[False]:.0f} | {cpu[False]:.2f} ms |",
        f"| ratio | {rate[True] / rate[False]:.0%} | {cpu[True] / cpu[False]:.0%} |",
        "",
    ])  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10, help="batches of each kind")
    parser.add_argument("--batch", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
