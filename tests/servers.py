"""Real server processes for tests and benchmarks: `skyslots serve` on a free port.

    with start_server(database_url) as server:
        httpx.get(f"{server.base_url}/health")

The process runs in its own session and is killed (with its workers) on exit; its output goes to
a temporary log file (`log_tail()` while it runs, in the error when it fails to start), removed
on stop. A failing test's report ends with the log tails of the servers running at that moment
(tests/conftest.py), so a fault on the server's side (a traceback, a worker uvicorn restarted)
shows beside the client's error.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

START_TIMEOUT = 30.0
# One key per test run, so servers started side by side accept each other's access tokens.
SECRET_KEY = secrets.token_urlsafe(32)


RUNNING: set[RunningServer] = set()  # started and not yet stopped, for failure reports
# Ports free_port gave out in this process: the kernel may offer a closed probe's port again, and
# a program given several (weed server's ten) then fails to bind the second one.
HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never one this process was given before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in HANDED_OUT:
            HANDED_OUT.add(port)
            return port


@dataclass(eq=False)
class RunningServer:
    """A server process listening on `base_url`; stop() (or leaving the `with`) kills it."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _log_file: object = field(repr=False, default=None)
    _temporary: list[Path] = field(repr=False, default_factory=list)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group (uvicorn's workers too); SIGKILL what is left."""
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(timeout)
        if self in RUNNING:  # once: later, the group's id may be another process's
            _signal_group(self.process, signal.SIGKILL)  # workers that outlived their parent
        RUNNING.discard(self)
        close = getattr(self._log_file, "close", None)
        if close:
            close()
        self.log_path.unlink(missing_ok=True)
        for folder in self._temporary:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # the group we created with start_new_session


def start_command(
    argv: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    health_path: str = "/health",
    timeout: float = START_TIMEOUT,
) -> RunningServer:
    """Start any HTTP server command listening on `port`; return once `health_path` gives 200."""
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by RunningServer.stop
        prefix="skyslots-server-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = RunningServer(
        base_url=f"http://127.0.0.1:{port}",
        process=process,
        log_path=Path(log_file.name),
        _log_file=log_file,
    )
    RUNNING.add(server)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(
                f"server exited with {process.returncode} before it was ready:\n{tail}"
            )
        try:
            if httpx.get(server.base_url + health_path, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise RuntimeError(f"server not ready after {timeout}s:\n{tail}")
        time.sleep(0.1)


def server_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without SKYSLOTS_* settings, plus a test configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SKYSLOTS_") or k.startswith("SKYSLOTS_TEST_")
    }
    env.update(
        SKYSLOTS_DATABASE_URL=database_url,
        SKYSLOTS_ENV="test",
        SKYSLOTS_SECRET_KEY=SECRET_KEY,
        SKYSLOTS_DATA_DIR=tempfile.mkdtemp(prefix="skyslots-data-"),
        SKYSLOTS_LOG_LEVEL="WARNING",
        SKYSLOTS_RATE_LIMITS="off",  # a test that means to be limited says so in `extra`
    )
    env.update(extra or {})
    return env


def start_server(
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
    timeout: float = START_TIMEOUT,
) -> RunningServer:
    """`skyslots serve --no-migrate` on a free port against an already migrated database.

    `env` adds to (or overrides) the SKYSLOTS_* settings, e.g. {"SKYSLOTS_REDIS_URL": ...}.
    """
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "skyslots",
        "serve",
        "--no-migrate",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    full_env = server_env(database_url, env)
    # The data folder server_env made is ours to remove; one the caller passed is not.
    ours = [] if env and "SKYSLOTS_DATA_DIR" in env else [Path(full_env["SKYSLOTS_DATA_DIR"])]
    try:
        server = start_command(argv, port=port, env=full_env, timeout=timeout)
    except RuntimeError:
        for folder in ours:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    server._temporary.extend(ours)
    return server


@dataclass
class Job:
    """A `skyslots worker` or `skyslots beat` process (its own process group, to kill it whole)."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
