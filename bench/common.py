"""What the benchmarks share: import paths, scratch databases, a seeded event, /proc CPU, docs.

Importing it puts the checkout's `src/` and root on `sys.path`, so `skyslots` and `tests.servers`
import from this checkout; the scripts import `tests` after it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from skyslots.accounts.schemas import UserCreate  # noqa: E402
from skyslots.accounts.service import user_create  # noqa: E402
from skyslots.config import Settings  # noqa: E402
from skyslots.db import Database  # noqa: E402
from skyslots.events.schemas import EventCreate  # noqa: E402
from skyslots.events.service import event_create  # noqa: E402
from skyslots.slots.schemas import SlotCreate  # noqa: E402
from skyslots.slots.service import slots_create  # noqa: E402

POSTGRES = os.environ.get("SKYSLOTS_TEST_POSTGRES", "postgres@127.0.0.1:5432")
DOCS = ROOT / "docs" / "benchmarks.md"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# --- databases ---------------------------------------------------------------------------------


def dsn(name: str) -> str:
    """The asyncpg DSN of database `name` on the benchmark's PostgreSQL server."""
    return f"postgresql://{POSTGRES}/{name}"


def database_url(name: str) -> str:
    """The SQLAlchemy URL SkySlots is given for database `name`."""
    return f"postgresql+asyncpg://{POSTGRES}/{name}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(dsn("postgres"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def create_database(name: str, *, template: str | None = None) -> None:
    """Create database `name`, empty or as a copy of `template`."""
    copy = f' TEMPLATE "{template}"' if template else ""
    await _admin(f'CREATE DATABASE "{name}"{copy}')


async def drop_database(name: str) -> None:
    """Drop database `name` if it exists, disconnecting whoever is still on it."""
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Seed:
    event_id: int
    slot_ids: list[int]


async def seed_event(
    url: str,
    *,
    data_dir: Path,
    organizer: UserCreate,
    event: EventCreate,
    slot_names: Sequence[str],
) -> Seed:
    """Organizer, event and pilot slots, created by the real services in one transaction."""

    async def seed(session: AsyncSession) -> Seed:
        user = await user_create(session, data=organizer)
        created = await event_create(session, organizer=user, data=event)
        slots = await slots_create(
            session,
            event_id=created.id,
            user=user,
            items=[SlotCreate(position_name=name, position_type="PILOT") for name in slot_names],
        )
        return Seed(event_id=created.id, slot_ids=[s.id for s in slots])

    database = Database(Settings(database_url=url, data_dir=data_dir, secret_key="x" * 32))
    try:
        return await database.transaction(seed)
    finally:
        await database.dispose()


# --- CPU accounting from /proc (Linux) -----------------------------------------------------------


def process_stat(pid: int | str) -> tuple[str, list[str]]:
    """The command name of process `pid` and the fields after it in /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    name, _, rest = raw.partition("(")[2].rpartition(")")
    return name, rest.split()


def stat_cpu_seconds(fields: Sequence[str], *, children: bool = False) -> float:
    """User + system CPU seconds in stat `fields`; with `children`, plus their exited children's."""
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / CLOCK_TICKS


# --- docs/benchmarks.md ------------------------------------------------------------------------


def write_section(section: str, text: str) -> None:
    """Replace (or append) `section` of docs/benchmarks.md with `text`, keeping the rest, and
    keeping the section's hand-written reading (from a paragraph starting "Reading it") unless
    `text` brings its own."""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = current.find(section)
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        following = current.find("\n## ", start + len(section))
        old = current[start:following] if following != -1 else current[start:]
        reading = old.find("\nReading it")
        if reading != -1 and "\nReading it" not in text:
            text = text.rstrip("\n") + "\n" + old[reading:].rstrip("\n") + "\n"
        rest = current[following + 1 :] if following != -1 else ""
        updated = current[:start] + text + ("\n" + rest if rest else "")
    DOCS.write_text(updated.rstrip("\n") + "\n")
