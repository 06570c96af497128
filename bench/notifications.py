"""Notifications: a booking rush with emails, and how fast the confirmation mails get out.

    .venv/bin/python bench/notifications.py [--bookings 2000] [--job-workers 1] [--rounds 4]

Each round: a fresh copy of a seeded database (one event, N pilot slots), `skyslots serve`
(2 processes) with a private Redis, `skyslots worker` process(es) (Celery, --concurrency 2) and
`skyslots beat`, and a real SMTP server (aiosmtpd) in this process. Every slot is claimed once,
with an email; measured: claims/s, the time from the rush's start (and its end) until the SMTP
server has accepted every confirmation mail, and outbox rows delivered per second per worker
process. The same rush without emails on another copy, alternating which goes first, gives the
claim rate the outbox row costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common import DOCS, ROOT, database_url, drop_database, write_section

# isort: split
from tests.realtime_redis import PrivateRedis
from tests.servers import server_env, start_server
from tests.smtp_sink import smtp_sink

from booking_rush import Attempt, build_template, copy_database, rush

SECTION = "## Notifications"


@dataclass(frozen=True)
class Round:
    with_email: float  # claims/s
    without_email: float
    rush_seconds: float
    all_mail_seconds: float  # from the rush's start until the last mail was accepted
    after_rush_seconds: float  # from the rush's end
    rows_per_worker_second: float


def plan(slot_ids: Sequence[int], *, email: bool, prefix: str) -> list[Attempt]:
    attempts = []
    for index, slot_id in enumerate(slot_ids):
        body: dict[str, str] = {
            "pilot_name": f"Pilot {index}",
            "pilot_callsign": f"{prefix}{index:05d}",
        }
        if email:
            body["email"] = f"pilot{index}@example.com"
        attempts.append(Attempt(slot_id, json.dumps(body).encode()))
    return attempts


def job(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "skyslots", *args], env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


async def one_rush(database: str, slot_ids: list[int], env: dict[str, str], *, email: bool,
                   concurrency: int) -> tuple[float, float]:  # fmt: skip
    """Claims/s and the rush's seconds, on a fresh `skyslots serve` (2 processes)."""
    server = await asyncio.to_thread(start_server, database_url(database), env=env, workers=2)
    try:
        started = time.perf_counter()
        result = await rush(
            server.base_url, plan(slot_ids, email=email, prefix="M" if email else "N"), concurrency
        )
        seconds = time.perf_counter() - started
        assert result.statuses[201] == len(slot_ids), result.statuses
    finally:
        await asyncio.to_thread(server.stop)
    return result.throughput, seconds


async def one_round(template: str, slot_ids: list[int], args: argparse.Namespace,
                    work_dir: Path, *, email_first: bool) -> Round:  # fmt: skip
    """Both rushes on fresh copies of the database, in the order given; then the job processes
    start and deliver the mails of the rush with emails."""
    redis = PrivateRedis()
    redis.start()
    mailing, plain = await copy_database(template), await copy_database(template)
    try:
        with smtp_sink() as (sink, smtp_url):
            extra = {"SKYSLOTS_REDIS_URL": redis.url, "SKYSLOTS_SMTP_URL": smtp_url,
                     "SKYSLOTS_DB_POOL_SIZE": "4", "SKYSLOTS_DB_MAX_OVERFLOW": "4"}  # fmt: skip
            rates: dict[bool, tuple[float, float]] = {}
            for email in (True, False) if email_first else (False, True):
                database = mailing if email else plain
                rates[email] = await one_rush(database, slot_ids, extra, email=email,
                                              concurrency=args.concurrency)  # fmt: skip
            # The job processes start once both rushes are over: the claim rates are the
            # claim's own (its outbox row, the kick queued in Redis), not a CPU shared with the
            # delivery. The kicks wait in Redis; the workers take them as they start.
            env = server_env(database_url(mailing), extra)
            jobs_started = time.perf_counter()
            workers = [
                job(["worker", "--concurrency", "2", "--loglevel", "WARNING", "-n", f"w{n}@%h"],
                    env, work_dir / f"worker{n}.log")
                for n in range(args.job_workers)
            ]  # fmt: skip
            beat = job(["beat", "--schedule", str(work_dir / "beat-schedule")], env,
                       work_dir / "beat.log")  # fmt: skip
            try:
                await asyncio.to_thread(sink.wait_for, len(slot_ids), 900)
                after_rush = time.perf_counter() - jobs_started
            finally:
                for process in (*workers, beat):
                    stop(process)
    finally:
        redis.stop()
        for database in (mailing, plain):
            await drop_database(database)
    (with_email, rush_seconds), (without_email, _) = rates[True], rates[False]
    rows_rate = len(slot_ids) / after_rush / args.job_workers
    outcome = Round(with_email, without_email, rush_seconds, rush_seconds + after_rush,
                    after_rush, rows_rate)  # fmt: skip
    print(
        f"round ({'email' if email_first else 'plain'} first): claims/s with email"
        f" {with_email:.0f}, without {without_email:.0f} ({with_email / without_email:.0%});"
        f" rush {rush_seconds:.1f} s; every mail accepted {after_rush:.1f} s after the workers"
        f" started; {rows_rate:.0f} rows/s per worker process",
        flush=True,
    )
    return outcome


def render(args: argparse.Namespace, rounds: list[Round]) -> str:
    def median(name: str) -> float:
        return statistics.median(getattr(r, name) for r in rounds)

    lines = [
        SECTION,
        "",
        f"`.venv/bin/python bench/notifications.py --bookings {args.bookings} --job-workers"
        f" {args.job_workers} --rounds {args.rounds}` ({time.strftime('%Y-%m-%d')}, 2 cores;"
        " server, workers, PostgreSQL, Redis, the SMTP server and the client on the same"
        " machine). Medians of the rounds:",
        "",
        "| figure | value |",
        "|---|---|",
        "| claims/s with an email (outbox row in the claim's transaction)"
        f" | {median('with_email'):.0f} |",
        f"| claims/s without an email | {median('without_email'):.0f} |",
        f"| ratio | {median('with_email') / median('without_email'):.0%} |",
        f"| rush ({args.bookings} claims, {args.concurrency} clients)"
        f" | {median('rush_seconds'):.1f} s |",
        f"| until every confirmation mail was accepted, from the rush's start (rush + delivery)"
        f" | {median('all_mail_seconds'):.1f} s |",
        f"| … from the job processes' start | {median('after_rush_seconds'):.1f} s |",
        "| outbox rows delivered per second per worker process (Celery, --concurrency 2)"
        f" | {median('rows_per_worker_second'):.0f} |",
        "",
        "Each round runs both rushes on fresh copies of the database, each on a fresh server,",
        "in alternating order, before the job processes start; so the claim rate is the claim's",
        "own (with its outbox row and the kick queued in Redis), not a CPU shared with the",
        "delivery. Delivery time and rows/s count from the start of the worker and beat",
        "processes (their start-up included). Each mail is composed from the database (booking,",
        "slot, event), carries a .ics, and is one SMTP conversation.",
        "Per round: "
        + "; ".join(
            f"{r.with_email:.0f}/{r.without_email:.0f} claims/s,"
            f" mail done {r.all_mail_seconds:.1f} s"
            for r in rounds
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> int:
    template = f"bench_notify_template_{uuid.uuid4().hex[:8]}"
    work_dir = Path("/tmp") / template
    work_dir.mkdir(parents=True, exist_ok=True)
    print(f"seeding {template}: 1 event, {args.bookings} slots", flush=True)
    seed = await build_template(template, args.bookings, work_dir)
    try:
        rounds = [
            await one_round(template, seed.slot_ids, args, work_dir, email_first=n % 2 == 0)
            for n in range(args.rounds)
        ]
    finally:
        await drop_database(template)
    if args.write_docs:
        write_section(SECTION, render(args, rounds))
        print(f"wrote the '{SECTION[3:]}' section of {DOCS.relative_to(ROOT)}")
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--job-workers", type=int, default=1, help="skyslots worker processes")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
