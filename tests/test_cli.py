"""The `skyslots` command, run as a real subprocess on an embedded SQLite data folder."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from skyslots.app import create_app
from tests.conftest import make_settings


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`skyslots ARGS` with only the SKYSLOTS_* variables given here (and no `.env`)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SKYSLOTS_")}
    return subprocess.run(
        [sys.executable, "-m", "skyslots", *args],
        env={**clean, "SKYSLOTS_DATA_DIR": str(data_dir), **env},
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def run_beside_app(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`run`, off the event loop: the `api` fixture's app runs its in-process jobs on this loop,
    and a job stalled mid-transaction would hold SQLite's write lock against the command."""
    return await asyncio.to_thread(run, data_dir, *args)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("skyslots: error: "), line
    for fragment in fragments:
        assert fragment in line, line


def printed(pattern: str, output: str) -> str:
    """The part of the command's output that `pattern`'s group captures."""
    found = re.search(pattern, output)
    assert found, output
    return found.group(1)


def query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{data_dir / 'skyslots.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def api(data_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API over the CLI's database."""
    app = create_app(make_settings(f"sqlite+aiosqlite:///{data_dir / 'skyslots.db'}", data_dir))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def sign_in(api: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await api.post("/api/auth/token", data={"username": email, "password": password})


def test_migrate_creates_the_database_in_the_data_folder(data_dir: Path) -> None:
    result = run(data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database is up to date (sqlite+aiosqlite:///")
    assert (data_dir / "skyslots.db").is_file()
    assert query(data_dir, "SELECT count(*) FROM users") == [(0,)]
    assert run(data_dir, "migrate").returncode == 0


async def test_demo_seeds_a_published_event_once(data_dir: Path, api: httpx.AsyncClient) -> None:
    first = await run_beside_app(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    email = printed(r"organizer login: (\S+@\S+) / ", first.stdout)
    password = printed(r"organizer login: \S+ / (\S+)", first.stdout)

    [(event_id, status)] = query(data_dir, "SELECT id, status FROM events")
    assert status == "published"
    assert f"/events/{event_id}" in first.stdout
    event = (await api.get(f"/api/events/{event_id}")).json()
    assert event["airport_icao"] == "EGLL"
    atc = [s for s in event["slots"] if s["position_type"] != "PILOT"]
    pilots = [s for s in event["slots"] if s["position_type"] == "PILOT"]
    assert {"DEL", "GND", "TWR", "APP"} <= {s["position_type"] for s in atc}
    assert all(s["start_time"] and s["end_time"] for s in atc)
    assert len({s["start_time"] for s in atc}) > 1
    assert len(pilots) >= 10
    assert any(s["booking"] for s in event["slots"])
    assert (await sign_in(api, email, password)).status_code == 200

    second = await run_beside_app(data_dir, "demo")
    assert second.returncode == 0, second.stderr
    assert f"/events/{event_id}" in second.stdout
    assert query(data_dir, "SELECT count(*) FROM events") == [(1,)]
    assert query(data_dir, "SELECT count(*) FROM users") == [(1,)]
    new_password = printed(r"organizer login: \S+ / (\S+)", second.stdout)
    assert (await sign_in(api, email, new_password)).status_code == 200


async def test_users_create_then_sign_in(data_dir: Path, api: httpx.AsyncClient) -> None:
    assert (await run_beside_app(data_dir, "migrate")).returncode == 0
    result = await run_beside_app(
        data_dir,
        "users",
        "create",
        "--email",
        "Chief@Example.com",
        "--name",
        "Chief  Organizer",
        "--role",
        "admin",
        "--password",
        "a long password",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("created admin chief@example.com (id ")
    assert "a long password" not in result.stdout
    response = await sign_in(api, "chief@example.com", "a long password")
    assert response.status_code == 200
    me = await api.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert (me.json()["name"], me.json()["role"]) == ("Chief Organizer", "admin")

    generated = await run_beside_app(
        data_dir, "users", "create", "--email", "m@example.com", "--name", "M"
    )
    assert generated.returncode == 0, generated.stderr
    assert "created member m@example.com" in generated.stdout
    password = printed(r"password: (\S+)", generated.stdout)
    assert (await sign_in(api, "m@example.com", password)).status_code == 200


def test_users_create_errors_are_one_line(data_dir: Path) -> None:
    assert run(data_dir, "migrate").returncode == 0
    first = run(data_dir, "users", "create", "--email", "dup@example.com", "--name", "Dup")
    assert first.returncode == 0, first.stderr
    cases = [
        (["--email", "not-an-email", "--name", "X"], ["email"]),
        (["--email", "x@example.com", "--name", "X", "--password", "short"], ["password"]),
        (["--email", "x@example.com", "--name", "   "], ["name"]),
        (["--email", "DUP@example.com", "--name", "Again"], ["dup@example.com", "already exists"]),
    ]
    for args, fragments in cases:
        assert_one_line_error(run(data_dir, "users", "create", *args), *fragments)
    assert query(data_dir, "SELECT email FROM users") == [("dup@example.com",)]


def test_configuration_errors_are_one_line(data_dir: Path) -> None:
    cases = [
        ({"SKYSLOTS_ENV": "production"}, "SKYSLOTS_SECRET_KEY"),
        ({"SKYSLOTS_ENV": "production", "SKYSLOTS_SECRET_KEY": "changeme"}, "SKYSLOTS_SECRET_KEY"),
        ({"SKYSLOTS_DATABASE_URL": "mysql://db/skyslots"}, "database_url"),
        ({"SKYSLOTS_DATABASE_URL": "postgresql+asyncpg://127.0.0.1:1/none"}, ""),
        ({"SKYSLOTS_ACCESS_TOKEN_MINUTES": "soon"}, "access_token_minutes"),
        ({"SKYSLOTS_LOG_LEVEL": "chatty"}, "log_level"),
        ({"SKYSLOTS_PORT": "99999"}, "port"),
    ]
    for env, fragment in cases:
        assert_one_line_error(run(data_dir, "migrate", **env), fragment)
    assert not (data_dir / "skyslots.db").exists()


def test_using_an_unmigrated_database_is_one_line(data_dir: Path) -> None:
    data_dir.mkdir()
    result = run(data_dir, "users", "create", "--email", "a@example.com", "--name", "A")
    assert_one_line_error(result, "skyslots migrate")


def test_serve_refuses_bad_arguments(data_dir: Path) -> None:
    for args in (["--port", "99999"], ["--workers", "0"], ["--port", "x"]):
        result = run(data_dir, "serve", *args)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith("skyslots serve: error: argument")
