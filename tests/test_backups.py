"""Backups that restore: a round trip on real PostgreSQL (pg_dump / pg_restore) and SQLite (the
online backup API, with a writer writing), compared table by table and row by row; refusals;
retention by a fake clock; the folder and the storage (a real S3) as targets; the CLI."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from skyslots.app import create_app
from skyslots.backups import BackupError
from skyslots.backups.naming import backup_name, kind_of_file, parse_name
from skyslots.backups.postgres import explain_tool_error, libpq_connection
from skyslots.backups.retention import backups_to_delete, backups_to_keep
from skyslots.backups.service import backup_run, backups_list, restore_run
from skyslots.config import Settings
from skyslots.migrate import head_revision, migrate
from skyslots.storage.cleanup import clean_storage
from skyslots.storage.factory import storage_for
from tests.conftest import (
    POSTGRES_SERVER,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
)
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots
from tests.s3_server import S3Server

postgres = pytest.mark.postgres
Snapshot = dict[str, list[tuple[Any, ...]]]


# --- databases and their contents --------------------------------------------------------------


def sqlite_url(folder: Path, name: str = "skyslots.db") -> str:
    return f"sqlite+aiosqlite:///{folder / name}"


async def fresh_database(engine: str, folder: Path) -> str:
    """A new, migrated database of that engine (PostgreSQL: a new database on the server)."""
    url = await create_postgres_database() if engine == "postgres" else sqlite_url(folder)
    await asyncio.to_thread(migrate, url)
    return url


async def recreate_empty(url: str) -> None:
    """The wipe: the database dropped and created again, empty."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite+aiosqlite:///")
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    await drop_postgres_database(url)
    admin = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres", timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def snapshot(url: str) -> Snapshot:
    """Every table's rows (sorted), the schema's definitions, and (PostgreSQL) the sequences."""
    engine = create_async_engine(url, poolclass=NullPool)
    found: Snapshot = {}
    try:
        async with engine.connect() as conn:
            if url.startswith("sqlite"):
                rows = await conn.exec_driver_sql(
                    "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
                )
                schema = [tuple(r) for r in rows]
                tables = [name for kind, name, _ in schema if kind == "table"]
            else:
                rows = await conn.exec_driver_sql(
                    "SELECT tablename, indexname, indexdef FROM pg_indexes"
                    " WHERE schemaname = 'public' ORDER BY 1, 2"
                )
                # PostgreSQL prints a restored partial index's `IN (...)` with its casts moved
                # (the same predicate): compare the definitions without casts and parentheses.
                schema = [(t, i, re.sub(r"::[a-z ]+(\[\])?|[()]", "", d)) for t, i, d in rows]
                rows = await conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                )
                tables = [name for (name,) in rows]
                rows = await conn.exec_driver_sql(
                    "SELECT sequencename, last_value FROM pg_sequences"
                    " WHERE schemaname = 'public' ORDER BY 1"
                )
                found["<sequences>"] = [tuple(r) for r in rows]
                rows = await conn.exec_driver_sql(
                    "SELECT table_name, column_name, data_type, is_nullable, column_default"
                    " FROM information_schema.columns WHERE table_schema = 'public'"
                    " ORDER BY 1, 2"
                )
                found["<columns>"] = [tuple(r) for r in rows]
            found["<schema>"] = schema
            for table in tables:
                rows = await conn.exec_driver_sql(f'SELECT * FROM "{table}"')
                found[table] = sorted((tuple(r) for r in rows), key=repr)
    finally:
        await engine.dispose()
    return found


def settings_for(url: str, folder: Path, **overrides: Any) -> Settings:
    return make_settings(
        url,
        folder / "data",
        **{"jobs_in_process": False, "backup_dir": folder / "backups", **overrides},
    )


@pytest.fixture
async def api_factory() -> AsyncIterator[Any]:
    """Open the app (its lifespan running) over a database: `async with api(settings) as c`."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def api(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, app.state.database

    return api


async def make_data(api: Any, settings: Settings) -> dict[str, Any]:
    """Events, slots, bookings, a waitlist with an offer, audit and outbox rows, through the
    API (jobs are off, so the outbox rows stay as written)."""
    async with api(settings) as (client, db):
        organizer = await make_account(db, client, email="org@example.com")
        event = await make_event(client, organizer, waitlist_mode="offer")
        await make_event(client, organizer, title="Gatwick Night", airport_icao="EGKK")
        slots = await make_slots(client, organizer, event, pilot_slots(4))
        bookings = []
        for slot, callsign in zip(slots[:3], ("BAW1", "DLH2", "AFR3"), strict=True):
            body = booking_body(callsign, email=f"{callsign.lower()}@example.org", notes="hi")
            response = await client.post(f"/api/slots/{slot['id']}/book", json=body)
            assert response.status_code == 201, response.text
            bookings.append(response.json())
        waiter = await client.post(
            f"/api/events/{event['id']}/waitlist",
            json={
                "pilot_name": "Wai Ter",
                "pilot_callsign": "KLM4",
                "email": "klm4@example.org",
                "slot_id": slots[0]["id"],
            },
        )
        assert waiter.status_code == 201, waiter.text
        released = await client.post(
            f"/api/bookings/{bookings[0]['id']}/release",
            headers={"X-Manage-Token": bookings[0]["manage_token"]},
        )
        assert released.status_code == 200, released.text
        token = await client.post(
            "/api/me/tokens", json={"name": "script", "scope": "read"}, headers=organizer.headers
        )
        assert token.status_code == 201, token.text
    return {"event": event, "free_slot": slots[3], "bookings": bookings}


def assert_has_data(tables: Snapshot) -> None:
    """The data made is really there (a comparison of empty tables proves nothing)."""
    for table in ("users", "events", "slots", "bookings", "waitlist_entries", "audit_logs"):
        assert tables[table], table
    assert tables["outbox"], "outbox rows"
    assert tables["alembic_version"] == [(head_revision(),)]


# --- the round trips ---------------------------------------------------------------------------


@postgres
async def test_postgres_round_trip_restores_every_table_and_the_sequences(
    tmp_path: Path, api_factory: Any
) -> None:
    url = await fresh_database("postgres", tmp_path)
    try:
        settings = settings_for(url, tmp_path)
        made = await make_data(api_factory, settings)
        original = await snapshot(url)
        assert_has_data(original)
        used = {name for name, value in original["<sequences>"] if value is not None}
        assert {"users_id_seq", "events_id_seq", "slots_id_seq", "bookings_id_seq"} <= used

        result = await backup_run(settings)
        assert parse_name(result.name) and result.name.startswith("skyslots-postgresql-")
        path = tmp_path / "backups" / result.name
        assert kind_of_file(path) == "postgresql" and path.stat().st_size == result.size

        await recreate_empty(url)
        assert (await snapshot(url)).keys() == {"<sequences>", "<columns>", "<schema>"}
        restored = await restore_run(settings, str(path))
        assert restored.revision == head_revision() and restored.dropped == []
        assert await snapshot(url) == original

        # The sequences came along: new rows get fresh ids, not a duplicate key.
        async with api_factory(settings) as (client, _):
            response = await client.post(
                f"/api/slots/{made['free_slot']['id']}/book", json=booking_body("UAE5")
            )
            assert response.status_code == 201, response.text
            assert response.json()["id"] > max(b["id"] for b in made["bookings"])
    finally:
        await drop_postgres_database(url)


async def test_sqlite_round_trip_while_a_writer_writes(tmp_path: Path, api_factory: Any) -> None:
    url = await fresh_database("sqlite", tmp_path)
    settings = settings_for(url, tmp_path)
    made = await make_data(api_factory, settings)
    database = Path(url.removeprefix("sqlite+aiosqlite:///"))
    # A table of our own that a writer fills while the backup runs; big enough (≈24 MB) that
    # the copy takes a while.
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, written REAL, pad BLOB)")
        conn.executemany(
            "INSERT INTO probe (written, pad) VALUES (?, randomblob(4096))",
            [(0.0,)] * 6000,
        )
    original = await snapshot(url)
    assert_has_data(original)

    stop, going = threading.Event(), threading.Event()
    written: list[float] = []

    def writer() -> None:
        conn = sqlite3.connect(database, timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous=OFF")
        while not stop.is_set():
            now = time.monotonic()
            conn.execute("INSERT INTO probe (written, pad) VALUES (?, randomblob(16))", (now,))
            written.append(now)
            if len(written) == 20:
                going.set()
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert await asyncio.to_thread(going.wait, 10)  # the writer is going
        started = time.monotonic()
        result = await backup_run(settings)
        ended = time.monotonic()
        await asyncio.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    during = [t for t in written if started <= t <= ended]
    assert during, "the writer wrote while the backup ran"

    await recreate_empty(url)
    restored = await restore_run(settings, str(tmp_path / "backups" / result.name))
    assert restored.revision == head_revision()
    after = await snapshot(url)
    # Everything but the probe is exactly as made; the probe is a consistent prefix of what
    # the writer wrote: no torn page, no missing row in the middle.
    probe_after, probe_before = after.pop("probe"), original.pop("probe")
    after["<schema>"] = [row for row in after["<schema>"] if row[1] != "probe"]
    original["<schema>"] = [row for row in original["<schema>"] if row[1] != "probe"]
    assert after == original
    ids = sorted(row[0] for row in probe_after)
    assert ids == list(range(1, len(ids) + 1))
    assert len(probe_before) <= len(ids) <= 6000 + len(written)
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    async with api_factory(settings) as (client, _):
        response = await client.post(
            f"/api/slots/{made['free_slot']['id']}/book", json=booking_body("UAE5")
        )
        assert response.status_code == 201, response.text
        assert response.json()["id"] > max(b["id"] for b in made["bookings"])


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=postgres)])
async def test_a_non_empty_database_is_refused_unless_forced(
    engine: str, tmp_path: Path, api_factory: Any
) -> None:
    url = await fresh_database(engine, tmp_path)
    try:
        settings = settings_for(url, tmp_path)
        made = await make_data(api_factory, settings)
        backed_up = await snapshot(url)
        result = await backup_run(settings)
        async with api_factory(settings) as (client, _):  # a change after the backup
            response = await client.post(
                f"/api/slots/{made['free_slot']['id']}/book", json=booking_body("UAE5")
            )
            assert response.status_code == 201, response.text
        changed = await snapshot(url)
        assert changed != backed_up

        with pytest.raises(BackupError, match=r"not empty .*--force"):
            await restore_run(settings, result.name)  # by name, from the backup folder
        assert await snapshot(url) == changed  # nothing changed

        forced = await restore_run(settings, result.name, force=True)
        assert forced.dropped and any("bookings" in name for name in forced.dropped)
        assert await snapshot(url) == backed_up
    finally:
        if engine == "postgres":
            await drop_postgres_database(url)


@postgres
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_a_backup_of_the_other_engine_or_no_backup_is_refused(
    engine: str, tmp_path: Path
) -> None:
    sqlite_backup = Path(sqlite_url(tmp_path, "other.db").removeprefix("sqlite+aiosqlite:///"))
    await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{sqlite_backup}")
    other = await fresh_database("postgres", tmp_path)
    try:
        made = await backup_run(settings_for(other, tmp_path / "o"))
    finally:
        await drop_postgres_database(other)
    postgres_backup = tmp_path / "o" / "backups" / made.name

    if engine == "sqlite":
        url, source = sqlite_url(tmp_path, "target.db"), postgres_backup
    else:
        url, source = await create_postgres_database(), sqlite_backup
    try:
        settings = settings_for(url, tmp_path)
        empty = await snapshot(url)
        assert not empty.get("alembic_version")
        with pytest.raises(BackupError, match="converting between engines is not supported"):
            await restore_run(settings, str(source))
        junk = tmp_path / "notes.txt"
        junk.write_text("not a backup")
        with pytest.raises(BackupError, match="is not a SkySlots backup"):
            await restore_run(settings, str(junk))
        with pytest.raises(BackupError, match="no backup 'skyslots-sqlite-20261203T120000Z"):
            await restore_run(settings, "skyslots-sqlite-20261203T120000Z.sqlite3")
        assert await snapshot(url) == empty
    finally:
        if engine == "postgres":
            await drop_postgres_database(url)


@postgres
async def test_a_dump_from_a_newer_pg_dump_is_refused_clearly_before_any_change(
    tmp_path: Path, api_factory: Any
) -> None:
    url = await fresh_database("postgres", tmp_path)
    try:
        settings = settings_for(url, tmp_path)
        await make_data(api_factory, settings)
        before = await snapshot(url)
        result = await backup_run(settings)
        path = tmp_path / "backups" / result.name
        data = bytearray(path.read_bytes())
        data[5:8] = bytes([1, 99, 0])  # archive format 1.99: what a far newer pg_dump writes
        newer = tmp_path / "newer.dump"
        newer.write_bytes(bytes(data))
        with pytest.raises(BackupError, match=r"archive format 1\.99 is newer than pg_restore"):
            await restore_run(settings, str(newer), force=True)
        assert await snapshot(url) == before  # checked before the clean
    finally:
        await drop_postgres_database(url)


def test_version_mismatch_messages_say_what_to_install() -> None:
    # pg_dump 15's own words against a PostgreSQL 16 server.
    stderr = (
        "pg_dump: error: aborting because of server version mismatch\n"
        "pg_dump: detail: server version: 16.4 (Debian 16.4-1); pg_dump version: 15.20\n"
    )
    message = explain_tool_error("pg_dump", stderr)
    assert "pg_dump 15.20 cannot dump a PostgreSQL 16 server" in message
    assert "postgresql-client-16" in message
    assert explain_tool_error("pg_dump", "pg_dump: error: x s3cret y\n", "s3cret") == "x *** y"


def test_the_tools_get_a_libpq_url_and_the_password_only_in_pgpassword() -> None:
    connection = libpq_connection(
        "postgresql+asyncpg://app:p%40ss@db.example:5433/skyslots?ssl=require"
        "&prepared_statement_cache_size=0"
    )
    assert connection.url == "postgresql://app@db.example:5433/skyslots?sslmode=require"
    assert connection.env["PGPASSWORD"] == "p@ss"


# --- retention ---------------------------------------------------------------------------------


def names_at(*times: str, kind: str = "postgresql") -> list[str]:
    return [
        backup_name(kind, datetime.fromisoformat(t).replace(tzinfo=UTC))  # type: ignore[arg-type]
        for t in times
    ]


def test_retention_keeps_a_day_the_last_7_days_and_the_last_4_weeks() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday, ISO week 49
    every_six_hours = [
        (now - timedelta(hours=6 * n)).strftime("%Y-%m-%dT%H:%M:%S") for n in range(0, 4 * 60)
    ]
    names = names_at(*every_six_hours)
    keep = backups_to_keep(names, now=now, keep_daily=7, keep_weekly=4)
    kept = sorted(parse_name(n).taken_at for n in keep)  # type: ignore[union-attr]
    expected = [
        # the newest of weeks 46, 47, 48 (Sundays 18:00), then one per day of the last 7 days
        "2026-11-15T18:00",
        "2026-11-22T18:00",
        "2026-11-29T18:00",
        "2026-11-27T18:00",
        "2026-11-28T18:00",
        "2026-11-30T18:00",
        "2026-12-01T18:00",
        "2026-12-02T18:00",
        # everything of the last 24 hours (the newest of today and week 49 among them)
        "2026-12-02T18:00",
        "2026-12-03T00:00",
        "2026-12-03T06:00",
        "2026-12-03T12:00",
    ]
    assert kept == sorted({datetime.fromisoformat(t).replace(tzinfo=UTC) for t in expected})
    doomed = backups_to_delete(names, now=now, keep_daily=7, keep_weekly=4)
    assert set(doomed) == set(names) - keep and len(doomed) == len(names) - len(keep)
    # Each engine is counted on its own (1 December's newest SQLite backup stays beside the
    # PostgreSQL one); other names are never candidates.
    sqlite_ones = names_at("2026-11-01T00:00", "2026-12-01T06:00", kind="sqlite")
    mixed = [*names, *sqlite_ones, "notes.txt", "skyslots-x.dump", "skyslots-sqlite-1.sqlite3"]
    assert set(backups_to_delete(mixed, now=now, keep_daily=7, keep_weekly=4)) == {
        *doomed,
        sqlite_ones[0],
    }
    # Fewer days and weeks keep fewer; none at all keeps only the last day.
    assert len(backups_to_keep(names, now=now, keep_daily=3, keep_weekly=2)) == 6
    assert len(backups_to_keep(names, now=now, keep_daily=0, keep_weekly=0)) == 4


async def test_backup_applies_retention_to_its_folder_only_to_backup_names(
    tmp_path: Path,
) -> None:
    url = await fresh_database("sqlite", tmp_path)
    settings = settings_for(url, tmp_path, backup_keep_daily=2, backup_keep_weekly=1)
    folder = tmp_path / "backups"
    folder.mkdir()
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    old = names_at("2026-11-20T10:00", "2026-12-01T23:00", "2026-12-02T08:00", kind="sqlite")
    others = ["notes.txt", "skyslots-sqlite-latest.sqlite3", *names_at("2026-11-20T10:00")]
    for name in [*old, *others]:
        (folder / name).write_bytes(b"x")
    result = await backup_run(settings, now=now)
    assert result.name == "skyslots-sqlite-20261203T120000Z.sqlite3"
    # Kept: today's (new), the newest of 2 December (day 2 of 2; also of week 49); gone:
    # 1 December and November (outside both). A PostgreSQL backup is not this engine's count.
    assert result.deleted == [old[0], old[1]]
    assert sorted(p.name for p in folder.iterdir()) == sorted([result.name, old[2], *others])
    listed = await backups_list(settings)
    assert [b.name for b in listed] == [others[2], old[2], result.name]


# --- the storage target ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_backups_in_the_storage_restore_by_key_and_survive_its_cleanup(
    backend: str, tmp_path: Path, api_factory: Any, request: pytest.FixtureRequest
) -> None:
    url = await fresh_database("sqlite", tmp_path)
    extra: dict[str, Any] = {"backup_target": "storage"}
    if backend == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        extra.update(server.settings())
    settings = settings_for(url, tmp_path, **extra)
    await make_data(api_factory, settings)
    original = await snapshot(url)
    first = await backup_run(settings, now=datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    second = await backup_run(settings, now=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    assert first.deleted == second.deleted == []
    assert not (tmp_path / "backups").exists()  # not the folder
    storage = storage_for(settings)
    keys = [o.key for o in await storage.list("backups/")]
    assert keys == [f"backups/{first.name}", f"backups/{second.name}"]
    if backend == "local":
        assert (tmp_path / "data" / "files" / "backups" / first.name).is_file()

    # The artifacts' cleanup keeps only an artifact's newest object: never so for backups.
    await clean_storage(storage, grace_seconds=0)
    assert [o.key for o in await storage.list("backups/")] == keys

    await recreate_empty(url)
    restored = await restore_run(settings, f"backups/{first.name}")  # a storage key
    assert restored.source.endswith(f"backups/{first.name}")
    assert await snapshot(url) == original
    with pytest.raises(BackupError, match="not empty"):
        await restore_run(settings, second.name)  # a name works too; the database is full


# --- the command line, and a password that never shows ----------------------------------------


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SKYSLOTS_")}
    return subprocess.run(
        [sys.executable, "-m", "skyslots", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@postgres
async def test_cli_backup_and_restore_on_postgres_never_show_the_password(
    tmp_path: Path,
) -> None:
    role = f"skyslots_backup_{secrets.token_hex(4)}"
    password = f"pw-{secrets.token_hex(8)}"
    name = f"skyslots_test_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(f"postgresql://{POSTGRES_SERVER}/postgres", timeout=5)
    host = POSTGRES_SERVER.rsplit("@", 1)[-1]
    url = f"postgresql+asyncpg://{role}:{password}@{host}/{name}"
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await admin.execute(f'CREATE DATABASE "{name}" OWNER {role}')
        env = {
            "SKYSLOTS_DATABASE_URL": url,
            "SKYSLOTS_DATA_DIR": str(tmp_path / "data"),
            "SKYSLOTS_BACKUP_DIR": str(tmp_path / "backups"),
            "SKYSLOTS_LOG_LEVEL": "DEBUG",
        }
        outputs: list[str] = []

        def cli(*args: str, **more: str) -> subprocess.CompletedProcess[str]:
            result = run_cli(*args, env={**env, **more}, cwd=tmp_path)
            outputs.extend([result.stdout, result.stderr])
            return result

        assert cli("demo").returncode == 0, outputs
        before = await snapshot(url)
        backed_up = cli("backup")
        assert backed_up.returncode == 0, backed_up.stderr
        [written] = [p.name for p in (tmp_path / "backups").iterdir()]
        assert f"backup written: {tmp_path / 'backups' / written} (" in backed_up.stdout
        listed = cli("backup", "--list")
        assert listed.stdout.startswith(f"{written}\t")

        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" OWNER {role}')
        restored = cli("restore", written)
        assert restored.returncode == 0, restored.stderr
        assert "restored " in restored.stdout and ":***@" in restored.stdout
        assert await snapshot(url) == before

        refused = cli("restore", written)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        [line] = [x for x in refused.stderr.splitlines() if x.startswith("skyslots: error:")]
        assert "not empty" in line and "--force" in line
        forced = cli("restore", written, "--force")
        assert forced.returncode == 0, forced.stderr
        assert "--force: dropped" in forced.stdout

        unreachable = cli(
            "backup", SKYSLOTS_DATABASE_URL=f"postgresql+asyncpg://{role}:{password}@127.0.0.1:9/x"
        )
        assert unreachable.returncode == 1
        assert "skyslots: error: pg_dump: connection to server" in unreachable.stderr
        assert outputs and all(password not in output for output in outputs)
        # The logs (JSON on stderr, DEBUG) name the database without its password (masked by
        # the backup, then by the log's own redaction of URL credentials).
        assert f"pg_dump of postgresql+asyncpg://{role}:[redacted]@" in backed_up.stderr
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
