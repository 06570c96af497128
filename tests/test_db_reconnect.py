"""The pool does not ping before each checkout, so a dropped connection must be retried."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from skyslots.db import Database
from tests.conftest import POSTGRES_SERVER, make_settings

pytestmark = pytest.mark.postgres


async def _backend_pid(session: Any) -> int:
    return int(await session.scalar(text("SELECT pg_backend_pid()")))


async def _terminate_connections(database_url: str) -> int:
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres")
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


async def test_units_of_work_survive_dropped_connections(postgres_url: str, tmp_path: Path) -> None:
    db = Database(make_settings(postgres_url, tmp_path, db_pool_size=3, db_max_overflow=0))
    try:
        before = await db.transaction(_backend_pid)
        assert await _terminate_connections(postgres_url) >= 1

        after_write = await db.transaction(_backend_pid)
        assert after_write != before  # a fresh connection, not an error

        await _terminate_connections(postgres_url)
        assert await db.read(_backend_pid) != after_write
    finally:
        await db.dispose()
