"""`skyslots serve --workers 2`: a worker process that dies is replaced, the server goes on
answering, and the supervisor says so even at SKYSLOTS_LOG_LEVEL=WARNING (the tests' level):
a worker's death drops its open connections, which clients see as a ReadError and a proxy as a
502, so it must never be silent."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from tests.helpers import eventually
from tests.servers import RunningServer, start_server


def worker_pids(server: RunningServer) -> set[int]:
    """uvicorn's worker processes: the server's children that multiprocessing spawned to serve
    (not its resource tracker)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = set()
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
            workers.add(child)
    return workers


async def test_a_killed_worker_is_replaced_and_the_log_says_so(sqlite_url: str) -> None:
    with await asyncio.to_thread(start_server, sqlite_url, workers=2) as server:

        def two_workers(pids: set[int]) -> bool:
            return len(pids) == 2

        async def workers() -> set[int]:
            return await asyncio.to_thread(worker_pids, server)

        async def log() -> str:
            return await asyncio.to_thread(server.log_path.read_text, errors="replace")

        started = await eventually(workers, two_workers, 30)
        assert two_workers(started), server.log_tail(30)
        victim, survivor = sorted(started)
        os.kill(victim, signal.SIGKILL)
        line = f"Child process [{victim}] died"
        assert line in await eventually(log, lambda text: line in text, 30), server.log_tail(30)
        replaced = await eventually(
            workers, lambda pids: two_workers(pids) and victim not in pids, 30
        )
        assert two_workers(replaced) and victim not in replaced and survivor in replaced
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            answers = [await http.get("/health") for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
