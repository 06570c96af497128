"""The Alembic migrations: up and down on both engines, no drift from the models, real guards."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from skyslots.db import Database
from skyslots.migrate import downgrade, migrate
from skyslots.models import Booking, metadata
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.helpers import make_account, make_event, make_slots, pilot_slots

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP_TABLES = {"users", "events", "slots", "bookings", "audit_logs"}
# SQLAlchemy cannot reflect SQLite expression indexes, so this one always looks "missing" there.
SQLITE_UNREFLECTABLE = {
    "uq_bookings_claimed_callsign",
    "uq_bookings_claimed_email",
    "uq_waitlist_entries_active_target",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: sa.inspect(c).get_table_names()))


def _diff(connection: sa.Connection, target: sa.MetaData) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, target)


def _known(difference: Any, dialect: str) -> bool:
    """The one difference that is not drift: SQLite's unreflectable expression index."""
    return (
        dialect == "sqlite"
        and isinstance(difference, tuple)
        and difference[0] == "add_index"
        and difference[1].name in SQLITE_UNREFLECTABLE
    )


async def drift(engine: AsyncEngine, target: sa.MetaData) -> list[Any]:
    async with engine.connect() as connection:
        differences = await connection.run_sync(_diff, target)
    return [d for d in differences if not _known(d, engine.dialect.name)]


async def guard_definitions(engine: AsyncEngine) -> dict[str, str]:
    """The booking guard indexes' SQL as the database reports it, without spaces or brackets."""
    if engine.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'bookings'"
    async with engine.connect() as connection:
        rows = (await connection.exec_driver_sql(query)).all()
    return {
        name: re.sub(r"::text|public\.|using btree|[\s()\"]", "", sql.lower())
        for name, sql in rows
        if name.startswith("uq_bookings_")
    }


async def test_upgrade_then_downgrade_leaves_no_tables(fresh_url: str) -> None:
    engine = create_async_engine(fresh_url)
    try:
        await asyncio.to_thread(migrate, fresh_url)
        assert await table_names(engine) >= APP_TABLES
        await asyncio.to_thread(migrate, fresh_url)  # already at head: a no-op
        await asyncio.to_thread(downgrade, fresh_url)
        assert await table_names(engine) - {"alembic_version"} == set()
        async with engine.connect() as connection:
            versions = (await connection.exec_driver_sql("SELECT * FROM alembic_version")).all()
        assert versions == []
        # And back up again from base.
        await asyncio.to_thread(migrate, fresh_url)
        assert await table_names(engine) >= APP_TABLES
    finally:
        await engine.dispose()


@pytest.mark.filterwarnings("ignore:.*expression-based index")
@pytest.mark.filterwarnings("ignore:.*skipping metadata-specified expression-based index")
async def test_models_and_migrations_agree(fresh_url: str) -> None:
    await asyncio.to_thread(migrate, fresh_url)
    engine = create_async_engine(fresh_url)
    try:
        assert await drift(engine, metadata) == []
        # What autogenerate cannot compare (SQLite expressions, partial WHERE), checked by hand.
        definitions = await guard_definitions(engine)
        if engine.dialect.name == "postgresql":  # it writes IN (...) as = ANY (ARRAY[...])
            definitions = {
                name: sql.replace("::charactervarying", "").replace(
                    "=anyarray['held','offered','pending','claimed'][]",
                    "in'held','offered','pending','claimed'",
                )
                for name, sql in definitions.items()
            }
        assert definitions == {
            "uq_bookings_active_slot": "createuniqueindexuq_bookings_active_slot"
            "onbookingsslot_idwherestatusin'held','offered','pending','claimed'",
            "uq_bookings_claimed_callsign": "createuniqueindexuq_bookings_claimed_callsign"
            "onbookingsevent_id,lowerpilot_callsign,callsign_seatwherestatus='claimed'",
            "uq_bookings_claimed_email": "createuniqueindexuq_bookings_claimed_email"
            "onbookingsevent_id,loweremail,email_seatwherestatus='claimed'andemailisnotnull",
            "uq_bookings_held_client": "createuniqueindexuq_bookings_held_client"
            "onbookingsevent_id,client_key,client_seatwherestatus='held'",
        }

        # The comparison is sharp: a column the migrations lack is reported.
        changed = sa.MetaData(naming_convention=metadata.naming_convention)
        for table in metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["slots"].append_column(sa.Column("rating", sa.String(8)))
        [difference] = await drift(engine, changed)
        assert difference[0] == "add_column"
        assert (difference[2], difference[3].name) == ("slots", "rating")
    finally:
        await engine.dispose()


async def test_partial_unique_indexes_guard_claims(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    first, second = await make_slots(client, organizer, event, pilot_slots(2))

    def row(slot: dict[str, Any], callsign: str, status: str = "claimed") -> dict[str, Any]:
        return {
            "slot_id": slot["id"],
            "event_id": event["id"],
            "pilot_name": "Test",
            "pilot_callsign": callsign,
            "status": status,
            "claimed_at": datetime.now(UTC),
            "released_at": datetime.now(UTC) if status == "released" else None,
            "notes": "",
            "manage_token_hash": "0" * 64,
        }

    async def insert(*rows: dict[str, Any]) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(sa.insert(Booking.__table__), list(rows))

    # A released and a claimed booking may share a slot and a callsign.
    await insert(row(first, "BAW1", "released"), row(first, "BAW1"))
    await insert(row(first, "BAW1", "released"))
    # A second claimed booking on the slot, or for the callsign in any case, is refused.
    with pytest.raises(IntegrityError, match=r"uq_bookings_active_slot|bookings\.slot_id"):
        await insert(row(first, "DLH2"))
    with pytest.raises(IntegrityError, match="uq_bookings_claimed_callsign"):
        await insert(row(second, "baw1"))
    await insert(row(second, "DLH2"))
    async with db.engine.connect() as connection:
        statuses = await connection.exec_driver_sql(
            "SELECT status, count(*) FROM bookings GROUP BY status ORDER BY status"
        )
        assert statuses.all() == [("claimed", 2), ("released", 2)]
    # A booking's event is its slot's: another event's id is refused, and nothing is written.
    other = await make_event(client, organizer)
    with pytest.raises(IntegrityError, match=r"fk_bookings_slot_id_slots|FOREIGN KEY"):
        await insert({**row(second, "EZY3", "released"), "event_id": other["id"]})


async def test_the_alembic_command_uses_the_settings(fresh_url: str, tmp_path: Path) -> None:
    """README: `alembic upgrade head` / `alembic downgrade base` from the project folder."""
    alembic = Path(sys.executable).with_name("alembic")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYSLOTS_")}
    env |= {"SKYSLOTS_DATABASE_URL": fresh_url, "SKYSLOTS_DATA_DIR": str(tmp_path)}
    engine = create_async_engine(fresh_url)
    try:
        for args, expected in ((["upgrade", "head"], True), (["downgrade", "base"], False)):
            result = await asyncio.to_thread(
                subprocess.run,
                [alembic, *args],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, result.stderr
            assert (await table_names(engine) >= APP_TABLES) is expected
    finally:
        await engine.dispose()


def _schema(connection: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    return {
        "indexes": {
            ix["name"]: (table, tuple(ix["column_names"]))
            for table in APP_TABLES
            for ix in inspector.get_indexes(table)
        },
        "foreign_keys": {
            (table, fk["name"], fk["referred_table"], fk["options"].get("ondelete"))
            for table in APP_TABLES
            for fk in inspector.get_foreign_keys(table)
        },
        "primary_keys": {inspector.get_pk_constraint(t)["name"] for t in APP_TABLES},
        "booking_keys": {
            (tuple(fk["constrained_columns"]), tuple(fk["referred_columns"]))
            for fk in inspector.get_foreign_keys("bookings")
        },
    }


@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_seed_indexes_and_named_foreign_keys(fresh_url: str) -> None:
    await asyncio.to_thread(migrate, fresh_url)
    engine = create_async_engine(fresh_url)
    try:
        async with engine.connect() as connection:
            schema = await connection.run_sync(_schema)
    finally:
        await engine.dispose()
    assert schema["indexes"].items() >= {
        ("ix_events_start_datetime", ("events", ("start_datetime",))),
        ("ix_slots_event_id", ("slots", ("event_id",))),
        ("ix_bookings_slot_id", ("bookings", ("slot_id",))),
        ("ix_bookings_event_id", ("bookings", ("event_id",))),
        ("uq_bookings_active_slot", ("bookings", ("slot_id",))),
    }
    assert schema["foreign_keys"] >= {
        ("events", "fk_events_organizer_id_users", "users", "RESTRICT"),
        ("slots", "fk_slots_event_id_events", "events", "CASCADE"),
        ("bookings", "fk_bookings_slot_id_slots", "slots", "CASCADE"),
        ("bookings", "fk_bookings_user_id_users", "users", "SET NULL"),
        ("audit_logs", "fk_audit_logs_event_id_events", "events", "SET NULL"),
        ("audit_logs", "fk_audit_logs_user_id_users", "users", "SET NULL"),
    }
    # A booking's slot and event are one key (the event's row is not locked by a claim's check).
    assert schema["booking_keys"] == {
        (("slot_id", "event_id"), ("id", "event_id")),
        (("user_id",), ("id",)),
    }
    if engine.dialect.name == "postgresql":  # SQLite does not name primary keys
        assert schema["primary_keys"] == {f"pk_{table}" for table in APP_TABLES}
