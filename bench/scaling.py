"""Scale-out on one machine: the booking rush against `skyslots serve --workers N` for N = 1, 2, 4
app processes on the same PostgreSQL and Redis (realtime fan-out on, as in production).

    .venv/bin/python bench/scaling.py [--rounds 3] [--processes 1,2,4] [--write-docs]

The same seeded database (copied per run), the same client load and plan as bench/booking_rush.py;
the process counts are interleaved round by round. Prints attempts/s, p50/p99 latency and CPU per
attempt for each count, the medians and the speed-up over one process, and with --write-docs
writes them into docs/scaling.md's "Measured" section.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import uuid
from collections.abc import Sequence

from booking_rush import (
    Config,
    RunResult,
    one_run,
    postgres_version,
    seeded_plans,
    summary,
)
from common import ROOT, database_url, drop_database

# isort: split
from tests.servers import RunningServer, start_server

SCALING = ROOT / "docs" / "scaling.md"
SECTION = "## Measured"
HEADER = (
    "| app processes | attempts/s | vs 1 | p50 ms | p99 ms | app CPU ms/attempt "
    "| PostgreSQL CPU ms/attempt | 5xx |\n|---|---|---|---|---|---|---|---|"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def start_processes(config: Config) -> object:
    def start(database: str) -> RunningServer:
        env = {
            "SKYSLOTS_DB_POOL_SIZE": str(config.pool_size),
            "SKYSLOTS_DB_MAX_OVERFLOW": str(config.max_overflow),
            "SKYSLOTS_REDIS_URL": REDIS_URL,
            "SKYSLOTS_REDIS_CHANNEL_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
            "SKYSLOTS_JOBS_IN_PROCESS": "false",  # a worker's job, not the web processes'
        }
        return start_server(database_url(database), env=env, workers=config.workers)

    return start


def render(results: dict[int, list[RunResult]], rounds: int, args: argparse.Namespace,
           postgres: str) -> str:  # fmt: skip
    one = summary("1", results[min(results)])["throughput"]
    rows = []
    for count, runs in sorted(results.items()):
        figures = summary(str(count), runs)
        rows.append(
            f"| {count} | {figures['throughput']:.0f} | {figures['throughput'] / one:.2f}x | "
            f"{figures['p50']:.1f} | {figures['p99']:.1f} | {figures['server_cpu']:.2f} | "
            f"{figures['postgres_cpu']:.2f} | {sum(r.server_errors for r in runs)} |"
        )
    cores = os.cpu_count()
    return f"""{SECTION}

`.venv/bin/python bench/scaling.py --rounds {rounds} --processes {args.processes}` on
{platform.machine()} with {cores} cores ({platform.python_implementation()}
{platform.python_version()}, PostgreSQL {postgres}, Redis on the same machine): {args.attempts}
claims by {args.concurrency} concurrent clients on {args.slots} pilot slots, a
{args.pool_size}+{args.max_overflow} connection pool per process; medians of {rounds} rounds,
the counts interleaved. Rate limits off (one client machine is one address), realtime fan-out
through Redis on.

{HEADER}
{chr(10).join(rows)}
"""


def write_section(text: str) -> None:
    current = SCALING.read_text()
    start = current.index(SECTION)
    rest = current[start + len(SECTION) :]
    end = rest.find("\n## ")
    tail = rest[end:] if end >= 0 else "\n"
    SCALING.write_text(current[:start] + text.rstrip("\n") + "\n" + tail)


async def main(args: argparse.Namespace) -> int:
    counts = [int(c) for c in args.processes.split(",")]
    template = f"bench_scaling_template_{uuid.uuid4().hex[:8]}"
    plans = await seeded_plans(template, slots=args.slots, attempts=args.attempts,
                               warmup=args.warmup)  # fmt: skip
    results: dict[int, list[RunResult]] = {count: [] for count in counts}
    try:
        for round_ in range(1, args.rounds + 1):
            order = counts if round_ % 2 else list(reversed(counts))
            for count in order:
                config = Config(count, args.concurrency, args.attempts, args.warmup,
                                args.pool_size, args.max_overflow)  # fmt: skip
                run = await one_run(f"{count} proc", start_processes(config), template, plans,
                                    config, round_)  # type: ignore[arg-type]  # fmt: skip
                results[count].append(run)
    finally:
        await drop_database(template)
    for count in counts:
        figures = summary(str(count), results[count])
        print(f"{count} processes: {figures['throughput']:.0f} attempts/s "
              f"(p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms)")  # fmt: skip
    clean = all(r.clean for runs in results.values() for r in runs)
    print("errors: none" if clean else "errors: SEE ABOVE")
    if args.write_docs:
        write_section(render(results, args.rounds, args, await postgres_version()))
        print(f"wrote {SCALING.relative_to(ROOT)}")
    return 0 if clean else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4", help="app process counts to compare")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=5000)
    parser.add_argument("--slots", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--pool-size", type=int, default=4)
    parser.add_argument("--max-overflow", type=int, default=4)
    parser.add_argument("--write-docs", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
