"""PostgreSQL backups with the client tools on PATH (or SKYSLOTS_BACKUP_PG_BIN): `pg_dump
--format=custom` and `pg_restore --no-owner --no-privileges --exit-on-error
--single-transaction`.

The tools get a libpq URL without the password; the password travels in PGPASSWORD, so it is
in no command line, no message and no log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from skyslots.backups.errors import BackupError

log = logging.getLogger(__name__)
# Query parameters libpq understands (asyncpg's own, e.g. prepared_statement_cache_size, are
# dropped; asyncpg's `ssl=require` is libpq's `sslmode=require`).
LIBPQ_PARAMS = {
    "application_name",
    "connect_timeout",
    "host",
    "options",
    "passfile",
    "port",
    "service",
    "sslcert",
    "sslkey",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
}
SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
TOOL_TIMEOUT = 6 * 3600
SYSTEM_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'"
NOT_EXTENSION = "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
# Everything a restore could collide with, in the order a clean drops it.
OBJECTS = f"""
SELECT kind, name FROM (
  SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
           WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' WHEN 'c' THEN 'TYPE'
           ELSE 'TABLE' END AS kind,
         format('%I.%I', n.nspname, c.relname) AS name,
         CASE c.relkind WHEN 'v' THEN 1 WHEN 'm' THEN 1 WHEN 'S' THEN 3 WHEN 'c' THEN 4
           ELSE 2 END AS step
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE {SYSTEM_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S', 'c')
    AND NOT c.relispartition AND {NOT_EXTENSION.format(oid="c.oid")}
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
         format('%I.%I', n.nspname, t.typname), 4
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE {SYSTEM_SCHEMAS} AND t.typtype IN ('e', 'd', 'r')
    AND {NOT_EXTENSION.format(oid="t.oid")}
  UNION ALL
  SELECT 'ROUTINE', p.oid::regprocedure::text, 5
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE {SYSTEM_SCHEMAS} AND p.prokind IN ('f', 'p') AND {NOT_EXTENSION.format(oid="p.oid")}
  UNION ALL
  SELECT 'SCHEMA', format('%I', n.nspname), 6
  FROM pg_namespace n
  WHERE {SYSTEM_SCHEMAS} AND n.nspname <> 'public' AND {NOT_EXTENSION.format(oid="n.oid")}
) AS found
ORDER BY step, name
"""


@dataclass(frozen=True)
class Connection:
    """How the client tools reach the database: a URL without the password, and the
    environment that carries it."""

    url: str
    env: dict[str, str]
    password: str | None


def libpq_connection(database_url: str) -> Connection:
    """`postgresql+asyncpg://user:pw@host/db?ssl=require` → `postgresql://user@host/db?sslmode=
    require` with PGPASSWORD=pw."""
    url = make_url(database_url)
    query: dict[str, str] = {}
    for key, value in url.query.items():
        value = value if isinstance(value, str) else value[-1]
        if key == "ssl" and value in SSL_MODES:
            query["sslmode"] = value
        elif key in LIBPQ_PARAMS:
            query[key] = value
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return Connection(
        url=plain.render_as_string(hide_password=False),
        env=env,
        password=str(url.password) if url.password is not None else None,
    )


def safe_url(database_url: str) -> str:
    """The database URL as printed: the password replaced by ***."""
    return make_url(database_url).render_as_string(hide_password=True)


def _tool(name: str, bin_dir: Path | None) -> str:
    if bin_dir is not None:
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise BackupError(f"{name} is not in SKYSLOTS_BACKUP_PG_BIN ({bin_dir})")
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools (Debian:"
            " postgresql-client) of the server's version, or set SKYSLOTS_BACKUP_PG_BIN"
        )
    return found


def _scrub(message: str, password: str | None) -> str:
    return message.replace(password, "***") if password else message


def explain_tool_error(tool: str, stderr: str, password: str | None = None) -> str:
    """One readable line from a failed pg_dump / pg_restore's messages; a version mismatch
    says which versions and what to install."""
    stderr = _scrub(stderr, password)
    server = re.search(r"server version: (\d+)[.\d]*", stderr)
    if "server version mismatch" in stderr and server:
        ours = re.search(rf"{tool} version: ([\d.]+)", stderr)
        return (
            f"{tool} {ours[1] if ours else '(older)'} cannot dump a PostgreSQL {server[1]}"
            f" server: install the PostgreSQL {server[1]} client tools"
            f" (Debian: postgresql-client-{server[1]}) and put them on PATH or in"
            " SKYSLOTS_BACKUP_PG_BIN"
        )
    archive = re.search(r"unsupported version \(([\d.]+)\) in file header", stderr)
    if archive:
        return (
            f"this dump's archive format {archive[1]} is newer than {tool} reads: it was made by"
            f" a newer pg_dump; restore it with a {tool} at least as new (PostgreSQL client"
            " tools on PATH or in SKYSLOTS_BACKUP_PG_BIN)"
        )
    lines = [
        re.sub(rf"^{tool}: (error: |detail: )?", "", line.strip()) for line in stderr.splitlines()
    ]
    reasons = [line for line in lines if line and not line.startswith("warning:")]
    return "; ".join(reasons[:3]) or f"{tool} failed"


def _run(argv: list[str], connection: Connection, tool: str) -> None:
    try:
        result = subprocess.run(
            argv,
            env=connection.env,
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{tool} did not finish within {TOOL_TIMEOUT} s") from None
    if result.returncode != 0:
        raise BackupError(f"{tool}: {explain_tool_error(tool, result.stderr, connection.password)}")


def tool_version(tool: str, bin_dir: Path | None) -> str:
    """`pg_dump (PostgreSQL) 15.20` → `15.20`."""
    out = subprocess.run(
        [_tool(tool, bin_dir), "--version"], capture_output=True, text=True, timeout=30
    )
    return out.stdout.strip().rsplit(" ", 1)[-1] if out.returncode == 0 else "unknown"


async def dump(database_url: str, destination: Path, *, bin_dir: Path | None) -> None:
    """`pg_dump --format=custom` of the whole database into `destination`."""
    connection = libpq_connection(database_url)
    argv = [
        _tool("pg_dump", bin_dir),
        "--format=custom",
        "--no-password",  # never a prompt: the password comes from PGPASSWORD or .pgpass
        f"--file={destination}",
        f"--dbname={connection.url}",
    ]
    log.info("backup: pg_dump of %s", safe_url(database_url))
    await asyncio.to_thread(_run, argv, connection, "pg_dump")


async def check_archive(path: Path, *, bin_dir: Path | None) -> None:
    """Read the archive's table of contents: a dump pg_restore cannot read fails here, before
    anything in the database changes."""
    argv = [_tool("pg_restore", bin_dir), "--list", str(path)]
    await asyncio.to_thread(_run, argv, Connection("", dict(os.environ), None), "pg_restore")


async def restore(database_url: str, path: Path, *, bin_dir: Path | None) -> None:
    """Load the archive into the (empty) database, all or nothing."""
    connection = libpq_connection(database_url)
    argv = [
        _tool("pg_restore", bin_dir),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--no-password",
        f"--dbname={connection.url}",
        str(path),
    ]
    log.info("restore: pg_restore into %s", safe_url(database_url))
    await asyncio.to_thread(_run, argv, connection, "pg_restore")


async def _objects(database_url: str) -> list[tuple[str, str]]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return [(kind, name) for kind, name in await conn.execute(text(OBJECTS))]
    except (SQLAlchemyError, OSError) as exc:
        raise BackupError(f"cannot read {safe_url(database_url)}: {_reason(exc)}") from exc
    finally:
        await engine.dispose()


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


async def database_objects(database_url: str) -> list[str]:
    """What the database holds outside the system schemas ("TABLE public.users", …): empty
    means a restore may load into it."""
    return [f"{kind} {name}" for kind, name in await _objects(database_url)]


async def clean(database_url: str) -> list[str]:
    """Drop every table, view, sequence, type and routine outside the system schemas, and every
    schema but `public` (one transaction); returns what was dropped."""
    found = await _objects(database_url)
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            for kind, name in found:
                await conn.exec_driver_sql(f"DROP {kind} IF EXISTS {name} CASCADE")
    except (SQLAlchemyError, OSError) as exc:
        raise BackupError(f"cannot clean {safe_url(database_url)}: {_reason(exc)}") from exc
    finally:
        await engine.dispose()
    return [f"{kind} {name}" for kind, name in found]


async def revision(database_url: str) -> str | None:
    """The restored database's Alembic revision (None without one)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        return None
    finally:
        await engine.dispose()
