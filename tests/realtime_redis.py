"""A private redis-server on a free port, which a test may stop and start again.

Tests use their own Redis because pub/sub ignores database numbers: on a shared Redis, servers
from other test runs (whose event ids collide) would hear each other's channels.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.conftest import service_missing
from tests.servers import free_port


def redis_server_binary() -> str | None:
    """redis-server, or Debian's redis-tools' redis-check-rdb (the same program) behind that name.

    Redis picks its mode by the name it runs under, and CI images often carry only redis-tools.
    """
    found = shutil.which("redis-server")
    if found:
        return found
    check = shutil.which("redis-check-rdb")
    if check is None:
        return None
    link = Path(tempfile.mkdtemp(prefix="skyslots-redis-bin-")) / "redis-server"
    link.symlink_to(check)
    return str(link)


@dataclass
class PrivateRedis:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="skyslots-redis-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = redis_server_binary()
        if binary is None:
            service_missing("redis-server (binary)", "not on PATH")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", self.workdir]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    service_missing(f"a private redis-server on port {self.port}", exc)
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
