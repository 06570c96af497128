"""The `feature_flags` table: admins' explicit toggles, one row per toggled flag."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import Retry
from skyslots.models import FeatureFlag

_flags = FeatureFlag.__table__  # type: ignore[attr-defined]


async def toggles_read(session: AsyncSession) -> dict[str, bool]:
    """Every stored toggle, {name: enabled} (names no longer defined are left out by callers)."""
    connection = await session.connection()
    rows = await connection.execute(select(_flags.c.name, _flags.c.enabled))
    return {name: bool(enabled) for name, enabled in rows}


async def toggle_rows(session: AsyncSession) -> dict[str, FeatureFlag]:
    """The stored toggles with who made them and when (the dashboard's list)."""
    rows = await session.scalars(select(FeatureFlag))
    return {row.name: row for row in rows}


async def toggle_write(
    session: AsyncSession, *, name: str, enabled: bool, user_id: int | None, now: datetime
) -> None:
    """Insert or update the toggle of `name` (a row lock on PostgreSQL orders two admins)."""
    row = await session.get(FeatureFlag, name, with_for_update=True)
    if row is None:
        session.add(FeatureFlag(name=name, enabled=enabled, updated_at=now, updated_by=user_id))
    else:
        row.enabled, row.updated_at, row.updated_by = enabled, now, user_id
    try:
        await session.flush()
    except IntegrityError:  # another admin's first toggle of it won: update theirs
        raise Retry() from None


async def toggle_delete(session: AsyncSession, *, name: str) -> bool:
    """Remove the toggle of `name`; whether there was one."""
    connection = await session.connection()
    result = await connection.execute(delete(_flags).where(_flags.c.name == name))
    return bool(result.rowcount)
