"""The effective flags (toggle > SKYSLOTS_FEATURES > default), cached per process, and the
admins' toggles.

Each process keeps the effective set for at most `ttl` seconds (a monotonic clock), so a toggle
made through any process is seen by every other within that time; the process that made it sees
it at once. A database that cannot be read keeps the last known set (flags never fail a request).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor, audit_record
from skyslots.db import utcnow
from skyslots.errors import NotFound
from skyslots.features.flags import BY_NAME, FLAGS, defaults, parse_features
from skyslots.features.store import toggle_delete, toggle_rows, toggle_write, toggles_read
from skyslots.models import User

if TYPE_CHECKING:
    from skyslots.config import Settings
    from skyslots.db import Database

log = logging.getLogger(__name__)
FEATURES_KEY = "features"  # session.info: the process's Features (see `feature_on`)
TTL_SECONDS = 2.0


class Features:
    """This process's view of the flags: the baseline (defaults with SKYSLOTS_FEATURES) and the
    stored toggles, read again once `ttl` has passed."""

    def __init__(
        self,
        baseline: Mapping[str, bool],
        database: Database | None,
        *,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.baseline = dict(baseline)
        self.database = database
        self.ttl = ttl
        self._clock = clock
        self._toggles: dict[str, bool] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, database: Database | None) -> Features:
        return cls(defaults() | parse_features(settings.features), database)

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self.ttl

    def known(self) -> dict[str, bool]:
        """The effective set as last read, without reading (templates, sync code)."""
        return self.baseline | self._toggles

    async def effective(self, session: AsyncSession | None = None) -> dict[str, bool]:
        """The effective set, read again when older than the TTL (with `session` when given, so
        a unit of work reads it in its own transaction)."""
        if self._fresh():
            return self.known()
        if session is not None:
            # No process lock here: a unit of work may hold SQLite's write lock, and one that
            # took the process lock first could be waiting for that write lock (a deadlock
            # until the busy timeout). Concurrent units just read the toggles twice.
            self._store(await toggles_read(session))
            return self.known()
        if self.database is None:
            return self.known()
        async with self._lock:  # requests arriving together share one read (never a writer)
            if not self._fresh():
                try:
                    self._store(await self.database.read(toggles_read))
                except Exception as exc:  # keep the last known set; read again next time
                    log.warning("feature flags not read: %s", type(exc).__name__)
                    self._store(self._toggles)
        return self.known()

    def _store(self, toggles: Mapping[str, bool]) -> None:
        self._toggles = {k: v for k, v in toggles.items() if k in BY_NAME}
        self._loaded_at = self._clock()

    async def is_on(self, name: str, session: AsyncSession | None = None) -> bool:
        return (await self.effective(session))[name]

    def invalidate(self) -> None:
        """Read the toggles again on next use (after this process changed one)."""
        self._loaded_at = None


async def feature_on(session: AsyncSession, name: str) -> bool:
    """Whether flag `name` is on, for a unit of work (services, jobs). A session of a process
    that has no Features wired (a bare script) sees the defaults."""
    features: Features | None = session.info.get(FEATURES_KEY)
    if features is None:
        return BY_NAME[name].default
    return await features.is_on(name, session)


@dataclass(frozen=True)
class FlagState:
    """One flag as the admins' dashboard shows it."""

    name: str
    description: str
    default: bool
    baseline: bool  # the default with SKYSLOTS_FEATURES applied
    toggle: bool | None  # an admin's explicit toggle, if any
    updated_at: datetime | None
    updated_by: int | None

    @property
    def enabled(self) -> bool:
        return self.baseline if self.toggle is None else self.toggle

    @property
    def source(self) -> str:
        if self.toggle is not None:
            return "toggle"
        return "environment" if self.baseline != self.default else "default"


def _known(name: str) -> None:
    if name not in BY_NAME:
        raise NotFound(
            f"There is no feature flag {name!r}; the flags are {', '.join(BY_NAME)}.",
            code="feature_not_found",
        )


async def feature_states(session: AsyncSession, *, baseline: Mapping[str, bool]) -> list[FlagState]:
    """Every flag with its default, baseline and toggle, in definition order."""
    rows = await toggle_rows(session)
    return [
        FlagState(
            name=flag.name,
            description=flag.description,
            default=flag.default,
            baseline=baseline[flag.name],
            toggle=rows[flag.name].enabled if flag.name in rows else None,
            updated_at=rows[flag.name].updated_at if flag.name in rows else None,
            updated_by=rows[flag.name].updated_by if flag.name in rows else None,
        )
        for flag in FLAGS
    ]


async def feature_toggle(session: AsyncSession, *, name: str, enabled: bool, user: User) -> None:
    """An admin turns flag `name` on or off (it wins over SKYSLOTS_FEATURES); audited."""
    _known(name)
    await toggle_write(session, name=name, enabled=enabled, user_id=user.id, now=utcnow())
    action = "feature.enabled" if enabled else "feature.disabled"
    payload = {"name": name, "enabled": enabled}
    audit_record(session, actor=Actor.of_user(user), action=action, event_id=None, payload=payload)


async def feature_reset(session: AsyncSession, *, name: str, user: User) -> bool:
    """An admin drops the toggle of `name`: back to SKYSLOTS_FEATURES or the default; audited.
    Whether there was a toggle."""
    _known(name)
    removed = await toggle_delete(session, name=name)
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="feature.reset",
        event_id=None,
        payload={"name": name, "had_toggle": removed},
    )
    return removed


def features_wired(settings: Settings, database: Database) -> Features:
    """This process's Features over `database`, shared with its units of work (`feature_on`)."""
    features = Features.from_settings(settings, database)
    database.share_with_sessions(**{FEATURES_KEY: features})
    return features
