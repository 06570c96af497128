"""`skyslots serve --workers 2`: a worker process that dies is replaced, the server goes on
answering, and the supervisor says so even at SKYSLOTS_LOG_LEVEL=WARNING (the tests' level):
a worker's death drops its open connections, which clients see as a ReadError and a proxy as a
502, so it must never be silent."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx

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


def wait_for(
    condition_met: Callable[[], bool], what: str, server: RunningServer, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while not condition_met():
        assert time.monotonic() < deadline, f"{what}:\n{server.log_tail(30)}"
        time.sleep(0.1)


async def test_a_killed_worker_is_replaced_and_the_log_says_so(sqlite_url: str) -> None:
    with await asyncio.to_thread(start_server, sqlite_url, workers=2) as server:
        await asyncio.to_thread(
            wait_for, lambda: len(worker_pids(server)) == 2, "two workers", server
        )
        victim, survivor = sorted(worker_pids(server))
        os.kill(victim, signal.SIGKILL)
        line = f"Child process [{victim}] died"
        await asyncio.to_thread(
            wait_for, lambda: line in server.log_path.read_text(errors="replace"), line, server
        )
        await asyncio.to_thread(
            wait_for, lambda: len(worker_pids(server)) == 2, "a replacement", server
        )
        assert victim not in worker_pids(server) and survivor in worker_pids(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            answers = [await http.get("/health") for _ in range(20)]
        assert {a.status_code for a in answers} == {200}
