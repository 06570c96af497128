"""Engine, session factory and the one place that commits: `Database.transaction`."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from skyslots.config import Settings

log = logging.getLogger(__name__)
# Logs never print an email: aiosqlite traces every statement with its bound values at DEBUG,
# so its logger stays at INFO whatever the root level; SQLAlchemy's statement logs and error
# messages leave the values out too (`hide_parameters`).
logging.getLogger("aiosqlite").setLevel(logging.INFO)

P = ParamSpec("P")
T = TypeVar("T")
AfterCommit = Callable[[], Awaitable[None]]

SQLITE_LOCK_RETRIES = 8
# A dropped connection (database restart, idle timeout) fails the unit of work that used it;
# SQLAlchemy then recycles every older pooled connection, so one more attempt normally suffices.
DISCONNECT_RETRIES = 2


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every engine (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_dumps(value: Any) -> str:
    """Compact JSON, as stored in JSON columns and sent to realtime clients."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Retry(Exception):
    """Raised by a unit of work that lost a race it can win on a second try (a seat number)."""


class KeepChanges(Exception):
    """Marks an error whose unit of work must still commit what it did before refusing.

    (A claim that found an expired hold frees it and promotes the waitlist, then refuses.)
    """


RETRIES = 5


def on_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run `callback` once the session's transaction has committed; never after a rollback."""
    session.info.setdefault("after_commit", []).append(callback)


def _is_sqlite_locked(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


def create_engine(url: str, settings: Settings, *, immediate: bool = True) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout and (for writers) BEGIN IMMEDIATE."""
    if not url.startswith("sqlite"):
        # No pool_pre_ping: on asyncpg it costs three round trips (BEGIN, ping, ROLLBACK) per
        # checkout, a quarter of a claim's. Database retries a unit of work on a disconnect instead.
        return create_async_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            json_serializer=json_dumps,
            hide_parameters=True,
        )
    engine = create_async_engine(
        url,
        connect_args={"timeout": settings.sqlite_busy_timeout_ms / 1000},
        json_serializer=json_dumps,
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={settings.sqlite_busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # Writers take the write lock up front so SQLite waits (busy_timeout) instead of failing
        # a deferred transaction's lock upgrade with SQLITE_BUSY.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


async def _run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


class Database:
    """Owns the engines; runs units of work in a transaction and commits in one place."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.url = url or settings.database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self.engine = create_engine(self.url, settings)
        # SQLite readers use deferred transactions so they never queue behind writers (WAL).
        self.read_engine = (
            create_engine(self.url, settings, immediate=False) if self.is_sqlite else self.engine
        )
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self._session_info: dict[str, Any] = {}
        self._read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, autoflush=False
        )
        self.share_with_sessions(link_secret=settings.secret_key)  # accounts.links.LINK_SECRET

    def share_with_sessions(self, **values: Any) -> None:
        """Put `values` in `session.info` of every later unit of work (the realtime publisher)."""
        self._session_info.update(values)
        self._sessions.configure(info=dict(self._session_info))
        self._read_sessions.configure(info=dict(self._session_info))

    async def transaction(
        self,
        work: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `work(session, ...)` in one transaction, commit, then run after-commit callbacks.

        On SQLite a "database is locked" error retries the whole unit, so it never reaches a client;
        so does a dropped connection before the commit was sent (after it, the outcome is unknown),
        and a `Retry` raised by the work. An error that is also a `KeepChanges` commits first.
        """
        attempt = 0
        while True:
            attempt += 1
            async with self._sessions() as session:
                committing = False
                try:
                    result = await work(session, *args, **kwargs)
                    committing = True
                    await session.commit()
                except DBAPIError as exc:
                    await session.rollback()
                    if self.is_sqlite and _is_sqlite_locked(exc) and attempt < SQLITE_LOCK_RETRIES:
                        await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
                        continue
                    lost = exc.connection_invalidated and not committing
                    if lost and attempt <= DISCONNECT_RETRIES:
                        log.warning("database connection lost; retrying the unit of work")
                        continue
                    raise
                except Retry:
                    await session.rollback()
                    if attempt < RETRIES:
                        continue
                    raise
                except KeepChanges as refusal:
                    await session.commit()
                    await _run_after_commit(session)
                    raise refusal from None
                except BaseException:
                    await session.rollback()
                    raise
            await _run_after_commit(session)
            return result

    async def read(
        self,
        work: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run a read-only unit of work; nothing is committed.

        Closing (not rolling back) ends the transaction and keeps loaded objects readable. A dropped
        connection is retried, as in `transaction`.
        """
        attempt = 0
        while True:
            attempt += 1
            async with self._read_sessions() as session:
                try:
                    return await work(session, *args, **kwargs)
                except DBAPIError as exc:
                    if not (exc.connection_invalidated and attempt <= DISCONNECT_RETRIES):
                        raise
                    log.warning("database connection lost; retrying the read")

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
