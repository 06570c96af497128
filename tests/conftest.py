"""Shared fixtures: real databases built by the migrations, the app, an HTTP client.

PostgreSQL tests need the server at SKYSLOTS_TEST_POSTGRES (default 127.0.0.1:5432, trust auth).
Without it they skip loudly on a laptop; under CI=true a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.migrate import migrate
from skyslots.models import metadata
from tests.servers import RUNNING

POSTGRES_SERVER = os.environ.get("SKYSLOTS_TEST_POSTGRES", "postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("SKYSLOTS_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
pytest_plugins = ["tests.smtp_sink", "tests.s3_server"]  # real SMTP (`sink`) and S3 (`s3_server`)
# Every table but the migrations' own, children first (SQLite deletes in this order).
TABLES = tuple(table.name for table in reversed(metadata.sorted_tables))


def service_missing(what: str, why: object) -> None:
    """Skip loudly on a laptop; fail under CI, where every service must be there."""
    message = f"{what} is not reachable ({why}); these tests need it"
    if IN_CI:
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {message}. Start it, or see README > Tests.")


async def create_postgres_database() -> str:
    """A fresh, migrated PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"skyslots_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres", timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {POSTGRES_SERVER}", exc)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://{POSTGRES_SERVER}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres", timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    url = await create_postgres_database()
    await asyncio.to_thread(migrate, url)  # Alembic runs its own event loop
    yield url
    await drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'skyslots.db'}"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs on both engines."""
    return request.getfixturevalue(f"{request.param}_url")


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Test settings; rate limits off unless a test asks (test_rate_limits does)."""
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=secrets.token_urlsafe(32),
        **{"env": "test", "redis_url": None, "rate_limits": "off", **overrides},
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


async def empty_tables(database: Database) -> None:
    """Empty every table. The app's in-process jobs may be reading meanwhile: a deadlock between
    their reads and TRUNCATE's locks (PostgreSQL cancels one side) is tried again."""
    for attempt in range(5):
        try:
            async with database.engine.begin() as connection:
                if database.is_sqlite:
                    for table in TABLES:
                        await connection.exec_driver_sql(f"DELETE FROM {table}")
                else:
                    await connection.exec_driver_sql(
                        f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"
                    )
            return
        except DBAPIError as error:
            if "deadlock detected" not in str(error) or attempt == 4:
                raise
            await asyncio.sleep(0.05)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The application with its lifespan running, on an emptied database."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        yield application


@pytest.fixture
def db(app: FastAPI) -> Database:
    return app.state.database


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(autouse=True)
def _no_leaked_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never read a developer's SKYSLOTS_* environment or .env by accident."""
    for key in list(os.environ):
        if key.startswith("SKYSLOTS_") and not key.startswith("SKYSLOTS_TEST_"):
            monkeypatch.delenv(key)
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test's report shows the log tails of the server processes running then."""
    report = yield
    if report.failed:
        for server in list(RUNNING):
            report.sections.append((f"server log {server.base_url}", server.log_tail(60)))
    return report
