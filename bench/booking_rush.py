"""Booking rush: many clients claiming the slots of one event, SkySlots against a bare reference.

    .venv/bin/python bench/booking_rush.py [--rounds 3] [--workers 2] [--concurrency 200]

Builds a PostgreSQL database with the migrations, seeds one published event with N pilot slots
through the real services, and copies it for every run. Each round runs the real server
(`skyslots serve`) and the reference (bench/reference_server.py: FastAPI + asyncpg doing the same
two inserts) with the same process count and the same client load, interleaved. Prints
attempts/s, p50/p99 latency, 5xx count and double bookings per run, the medians and the ratio,
and writes them into the "Booking rush" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from common import (  # first: it puts the checkout's src/ and root on sys.path
    DOCS,
    ROOT,
    Seed,
    create_database,
    database_url,
    drop_database,
    dsn,
    process_stat,
    seed_event,
    stat_cpu_seconds,
    write_section,
)

# isort: split
from tests.servers import RunningServer, free_port, start_command, start_server

from skyslots.accounts.schemas import UserCreate
from skyslots.events.schemas import EventCreate
from skyslots.migrate import migrate
from skyslots.models import EventStatus, Role

SECTION = "## Booking rush"
BASELINE = "baseline"
TARGET = 0.60


@dataclass(frozen=True)
class Attempt:
    slot_id: int
    body: bytes


@dataclass
class RunResult:
    server: str
    round: int
    attempts: int
    seconds: float
    latencies: list[float] = field(repr=False)
    statuses: Counter[int]
    codes: Counter[str]
    transport_errors: int
    double_bookings: int
    consistent: bool
    server_cpu_ms: float = 0.0  # CPU of the server's processes per attempt
    postgres_cpu_ms: float = 0.0  # CPU of every PostgreSQL process per attempt (shared server)

    @property
    def throughput(self) -> float:
        return self.attempts / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def clean(self) -> bool:
        unexpected = set(self.statuses) - {201, 409}
        return not (
            unexpected or self.transport_errors or self.double_bookings or not self.consistent
        )

    def line(self) -> str:
        codes = ", ".join(f"{c} {n}" for c, n in sorted(self.codes.items()))
        return (
            f"{self.server:9} round {self.round}: {self.throughput:7.0f} attempts/s  "
            f"p50 {self.percentile(0.50):6.1f} ms  p99 {self.percentile(0.99):6.1f} ms  "
            f"201 {self.statuses[201]}  409 {self.statuses[409]} ({codes})  "
            f"5xx {self.server_errors}  transport errors {self.transport_errors}  "
            f"double bookings {self.double_bookings}  rows {'ok' if self.consistent else 'BAD'}  "
            f"CPU/attempt: server {self.server_cpu_ms:.2f} ms, "
            f"PostgreSQL {self.postgres_cpu_ms:.2f} ms"
        )


# --- a small keep-alive HTTP/1.1 client: cheap enough not to steal the servers' CPU ------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader and self.writer
        self.writer.write(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (path.encode(), self.host.encode(), len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload


async def rush(base_url: str, plan: Sequence[Attempt], concurrency: int) -> RunResult:
    """Send every attempt of `plan`, `concurrency` at a time over keep-alive connections."""
    url = urlsplit(base_url)
    connections = [
        Connection(url.hostname or "127.0.0.1", url.port or 80) for _ in range(concurrency)
    ]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    errors = 0
    next_index = 0

    async def client(connection: Connection) -> None:
        nonlocal next_index, errors
        while next_index < len(plan):
            attempt = plan[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                status, payload = await connection.post(
                    f"/api/slots/{attempt.slot_id}/book", attempt.body
                )
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                await connection.close()
                continue
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if status == 409:
                codes[json.loads(payload).get("code", "?")] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    seconds = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in connections))
    return RunResult(
        server="",
        round=0,
        attempts=len(plan),
        seconds=seconds,
        latencies=latencies,
        statuses=statuses,
        codes=codes,
        transport_errors=errors,
        double_bookings=0,
        consistent=True,
    )


# --- CPU accounting from /proc (Linux) -----------------------------------------------------------


def _process_stats() -> list[tuple[str, list[str]]]:
    stats = []
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if pid.isdigit():
            with contextlib.suppress(OSError):
                stats.append(process_stat(pid))
    return stats


def group_cpu_seconds(process_group: int) -> float:
    """User + system CPU of every process in `process_group` (a server and its workers)."""
    return sum(stat_cpu_seconds(f) for _, f in _process_stats() if int(f[2]) == process_group)


def postgres_cpu_seconds() -> float:
    """CPU of all local PostgreSQL processes, including their exited children."""
    return sum(
        stat_cpu_seconds(f, children=True)
        for name, f in _process_stats()
        if name.startswith("postgres")
    )


# --- databases ---------------------------------------------------------------------------------


async def build_template(name: str, slots: int, work_dir: Path) -> Seed:
    """A migrated database with one published, bookable event of `slots` pilot slots."""
    await create_database(name)
    url = database_url(name)
    await asyncio.to_thread(migrate, url)
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    return await seed_event(
        url,
        data_dir=work_dir,
        organizer=UserCreate(
            email="rush@example.com", name="Rush", role=Role.ORGANIZER, password="x" * 12
        ),
        event=EventCreate(
            title="Booking rush",
            start_datetime=start,
            end_datetime=start + timedelta(hours=6),
            airport_icao="EGLL",
            status=EventStatus.PUBLISHED,
        ),
        slot_names=[f"EGLL-KJFK {i:05d}" for i in range(slots)],
    )


async def copy_database(template: str) -> str:
    name = f"bench_rush_{uuid.uuid4().hex[:10]}"
    await create_database(name, template=template)
    return name


async def check_rows(name: str, result: RunResult, *, earlier_claims: int) -> None:
    """Double bookings, and whether the rows match what the clients were told."""
    connection = await asyncpg.connect(dsn(name))
    try:
        doubled_slots = await connection.fetchval(
            "SELECT count(*) FROM (SELECT slot_id FROM bookings WHERE status = 'claimed'"
            " GROUP BY slot_id HAVING count(*) > 1) AS d"
        )
        doubled_callsigns = await connection.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status = 'claimed'"
            " GROUP BY event_id, lower(pilot_callsign) HAVING count(*) > 1) AS d"
        )
        claimed = await connection.fetchval(
            "SELECT count(*) FROM bookings WHERE status = 'claimed'"
        )
        audited = await connection.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action_type = 'booking.claimed'"
        )
    finally:
        await connection.close()
    result.double_bookings = doubled_slots + doubled_callsigns
    result.consistent = claimed == audited == result.statuses[201] + earlier_claims


# --- the load ----------------------------------------------------------------------------------


def make_plan(
    slot_ids: Sequence[int], attempts: int, *, seed: int, prefix: str = "R"
) -> list[Attempt]:
    """Every slot once plus random repeats (slot_taken), and a few reused callsigns."""
    rng = random.Random(seed)
    targets = list(slot_ids)[:attempts]
    targets += [rng.choice(slot_ids) for _ in range(attempts - len(targets))]
    rng.shuffle(targets)
    plan = []
    for index, slot_id in enumerate(targets):
        callsign = f"{prefix}{index:05d}"
        if index > 100 and rng.random() < 0.03:  # the same pilot trying a second slot
            callsign = f"{prefix}{rng.randrange(index):05d}"
        body = {"pilot_name": f"Pilot {index}", "pilot_callsign": callsign}
        plan.append(Attempt(slot_id, json.dumps(body).encode()))
    return plan


@dataclass(frozen=True)
class Config:
    workers: int
    concurrency: int
    attempts: int
    warmup: int
    pool_size: int
    max_overflow: int


ServerStarter = Callable[[str], RunningServer]


@dataclass(frozen=True)
class Plans:
    warmup: list[Attempt]
    measured: list[Attempt]


def start_real(config: Config, source: Path | None = None) -> ServerStarter:
    """`skyslots serve` from this checkout, or from `source` (another revision's src/)."""

    def start(database: str) -> RunningServer:
        env = {
            "SKYSLOTS_DB_POOL_SIZE": str(config.pool_size),
            "SKYSLOTS_DB_MAX_OVERFLOW": str(config.max_overflow),
        }
        if source is not None:
            env["PYTHONPATH"] = str(source)
        return start_server(database_url(database), env=env, workers=config.workers)

    return start


def start_reference(config: Config) -> ServerStarter:
    def start(database: str) -> RunningServer:
        port = free_port()
        env = dict(os.environ)
        env.update(
            BENCH_REFERENCE_DSN=dsn(database),
            BENCH_REFERENCE_POOL_SIZE=str(config.pool_size + config.max_overflow),
        )
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(ROOT / "bench"),
            "reference_server:app",
            "--port",
            str(port),
            "--workers",
            str(config.workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        return start_command(argv, port=port, env=env)

    return start


async def one_run(
    name: str, starter: ServerStarter, template: str, plans: Plans, config: Config, round_: int
) -> RunResult:
    """A fresh copy of the seeded database, a fresh server, a warm-up, then the measured rush."""
    database = await copy_database(template)
    try:
        server = await asyncio.to_thread(starter, database)
        try:
            warm = await rush(server.base_url, plans.warmup, min(config.concurrency, 50))
            server_cpu, postgres_cpu = group_cpu_seconds(server.process.pid), postgres_cpu_seconds()
            result = await rush(server.base_url, plans.measured, config.concurrency)
            result.server_cpu_ms = (
                (group_cpu_seconds(server.process.pid) - server_cpu) * 1000 / result.attempts
            )
            result.postgres_cpu_ms = (
                (postgres_cpu_seconds() - postgres_cpu) * 1000 / result.attempts
            )
        finally:
            await asyncio.to_thread(server.stop)
        for status, count in warm.statuses.items():  # warm-up failures count against the server
            if status not in (201, 409):
                result.statuses[status] += count
        result.transport_errors += warm.transport_errors
        await check_rows(database, result, earlier_claims=warm.statuses[201])
    finally:
        await drop_database(database)
    result.server, result.round = name, round_
    print(result.line(), flush=True)
    return result


def revision_source(revision: str, work_dir: Path) -> Path:
    """The src/ folder of another git revision, to run its server against the same database."""
    target = work_dir / f"src-{revision}"
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


async def postgres_version() -> str:
    connection = await asyncpg.connect(dsn("postgres"))
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


# --- the report --------------------------------------------------------------------------------


def median_of(results: Sequence[RunResult], figure: Callable[[RunResult], float]) -> float:
    return statistics.median(figure(r) for r in results)


def summary(name: str, results: Sequence[RunResult]) -> dict[str, float]:
    return {
        "throughput": median_of(results, lambda r: r.throughput),
        "p50": median_of(results, lambda r: r.percentile(0.50)),
        "p99": median_of(results, lambda r: r.percentile(0.99)),
        "server_errors": sum(r.server_errors for r in results),
        "transport_errors": sum(r.transport_errors for r in results),
        "double_bookings": sum(r.double_bookings for r in results),
        "inconsistent": sum(not r.consistent for r in results),
        "conflicts": median_of(results, lambda r: r.statuses[409] / r.attempts),
        "server_cpu": median_of(results, lambda r: r.server_cpu_ms),
        "postgres_cpu": median_of(results, lambda r: r.postgres_cpu_ms),
    }


def render_section(
    config: Config,
    rounds: int,
    slots: int,
    results: dict[str, list[RunResult]],
    pg_version: str,
    baseline: str | None = None,
) -> str:
    real, ref = summary("skyslots", results["skyslots"]), summary("reference", results["reference"])
    ratio = real["throughput"] / ref["throughput"]
    clean = all(r.clean for rs in results.values() for r in rs)
    verdict = (
        f"**{ratio:.0%} of the reference** (target {TARGET:.0%}): "
        + ("met" if ratio >= TARGET and clean else "MISSED")
        + (", zero errors, zero double bookings." if clean else "; see the errors above.")
    )
    rows = []
    table = [("SkySlots (`skyslots serve`)", real), ("reference (asyncpg)", ref)]
    baseline_line = ""
    if BASELINE in results:
        base = summary(BASELINE, results[BASELINE])
        table.insert(1, (f"SkySlots at {baseline} (the baseline)", base))
        baseline_line = (
            f"\nThis checkout against the baseline ({baseline}, the same rounds): "
            f"**{real['throughput'] / base['throughput']:.0%} of its attempts/s**, "
            f"{real['server_cpu'] / base['server_cpu']:.0%} of its server CPU per attempt.\n"
        )
    for name, figures in table:
        rows.append(
            f"| {name} | {figures['throughput']:.0f} | {figures['p50']:.1f} | "
            f"{figures['p99']:.1f} | {figures['server_errors']:.0f} | "
            f"{figures['transport_errors']:.0f} | {figures['double_bookings']:.0f} | "
            f"{figures['server_cpu']:.2f} | {figures['postgres_cpu']:.2f} |"
        )
    per_round = "\n".join(
        f"    {r.line()}" for pair in zip(*results.values(), strict=True) for r in pair
    )
    extra = f" --baseline {baseline}" if baseline else ""
    return f"""{SECTION}

`.venv/bin/python bench/booking_rush.py --rounds {rounds} --workers {config.workers}{extra}` \
({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; PostgreSQL {pg_version} on the same
machine, default settings.)

One published event with {slots} pilot slots; {config.concurrency} concurrent keep-alive clients
send {config.attempts} claims (every slot once plus random repeats, ~3% reusing an earlier callsign,
so {real["conflicts"]:.0%} end in a 409), after a warm-up of {len_warmup(config)} claims on other
slots. Both servers run under uvicorn with {config.workers} worker processes and at most
{config.pool_size + config.max_overflow} database connections per process, on fresh copies of the
same migrated database; the runs are interleaved and the figures are medians over {rounds} rounds.
The reference (`bench/reference_server.py`) is FastAPI + a bare asyncpg pool doing only the two
inserts (booking row + audit row) in one transaction, a unique violation becoming a 409.

| server | attempts/s | p50 ms | p99 ms | 5xx | transport errors | double bookings \
| server CPU ms/attempt | PostgreSQL CPU ms/attempt |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Ratio SkySlots / reference: {verdict}
{baseline_line}
CPU per attempt is read from /proc: the server's processes, and every PostgreSQL process (the
database server is shared, so other load on it shows there too). What limits SkySlots is in the
next section.

Every run:

{per_round}
"""


async def seeded_plans(template: str, *, slots: int, attempts: int, warmup: int) -> Plans:
    """Seed the template database (one event, `slots` pilot slots and some for the warm-up) and
    plan the warm-up's and the measured rush's claims."""
    work_dir = Path(os.environ.get("TMPDIR", "/tmp")) / template
    warm_slots = max(1, warmup * 3 // 4)
    print(f"seeding {template}: 1 event, {slots} + {warm_slots} slots", flush=True)
    seed = await build_template(template, slots + warm_slots, work_dir)
    return Plans(
        warmup=make_plan(seed.slot_ids[slots:], warmup, seed=1, prefix="W"),
        measured=make_plan(seed.slot_ids[:slots], attempts, seed=2),
    )


def len_warmup(config: Config) -> int:
    return config.warmup


async def main(args: argparse.Namespace) -> int:
    config = Config(
        workers=args.workers,
        concurrency=args.concurrency,
        attempts=args.attempts,
        warmup=args.warmup,
        pool_size=args.pool_size,
        max_overflow=args.max_overflow,
    )
    template = f"bench_rush_template_{uuid.uuid4().hex[:8]}"
    plans = await seeded_plans(template, slots=args.slots, attempts=args.attempts,
                               warmup=args.warmup)  # fmt: skip
    starters = {"skyslots": start_real(config), "reference": start_reference(config)}
    if args.baseline:
        # Today's server (another revision) against the same databases: "no slower than before".
        work_dir = Path(os.environ.get("TMPDIR", "/tmp")) / template
        starters[BASELINE] = start_real(config, revision_source(args.baseline, work_dir))
    results: dict[str, list[RunResult]] = {name: [] for name in starters}
    try:
        for round_ in range(1, args.rounds + 1):
            order = list(starters) if round_ % 2 else list(reversed(starters))
            for name in order:
                results[name].append(
                    await one_run(name, starters[name], template, plans, config, round_)
                )
    finally:
        await drop_database(template)

    real, ref = summary("skyslots", results["skyslots"]), summary("reference", results["reference"])
    ratio = real["throughput"] / ref["throughput"]
    print(
        f"\nmedians over {args.rounds} rounds: skyslots {real['throughput']:.0f}/s "
        f"(p50 {real['p50']:.1f} ms, p99 {real['p99']:.1f} ms), reference "
        f"{ref['throughput']:.0f}/s (p50 {ref['p50']:.1f} ms, p99 {ref['p99']:.1f} ms); "
        f"ratio {ratio:.0%} (target {TARGET:.0%})"
    )
    if BASELINE in results:
        base = summary(BASELINE, results[BASELINE])
        print(
            f"baseline {args.baseline}: {base['throughput']:.0f}/s (p50 {base['p50']:.1f} ms, "
            f"server CPU {base['server_cpu']:.2f} ms/attempt); this checkout / baseline "
            f"{real['throughput'] / base['throughput']:.0%}, CPU "
            f"{real['server_cpu'] / base['server_cpu']:.0%}"
        )
    clean = all(r.clean for rs in results.values() for r in rs)
    print("errors: none" if clean else "errors: SEE ABOVE (5xx, transport errors or bad rows)")
    if args.write_docs:
        section = render_section(
            config, args.rounds, args.slots, results, await postgres_version(), args.baseline
        )
        write_section(SECTION, section)
        print(f"wrote the '{SECTION[3:]}' section of {DOCS.relative_to(ROOT)}")
    return 0 if clean and ratio >= TARGET else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="server processes (both servers)")
    parser.add_argument("--concurrency", type=int, default=200, help="concurrent clients")
    parser.add_argument("--attempts", type=int, default=5000, help="measured claims per run")
    parser.add_argument("--slots", type=int, default=3000, help="slots the claims aim at")
    parser.add_argument("--warmup", type=int, default=400, help="warm-up claims per run")
    # 4 + 4 connections per process measured best on 2 cores (fewer claims queue on the event's
    # row lock inside PostgreSQL); the reference gets the same number of connections.
    parser.add_argument("--pool-size", type=int, default=4, help="DB pool per process")
    parser.add_argument("--max-overflow", type=int, default=4, help="DB pool overflow")
    parser.add_argument(
        "--no-write-docs", dest="write_docs", action="store_false", help="only print"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the server of git revision REV (e.g. HEAD~3) in the same rounds",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    sys.exit(asyncio.run(main(parse_args())))
