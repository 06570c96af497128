"""The event's roster version: one step per committed change, the realtime layer's clock.

Each change also leaves its realtime message in `roster_changes` (the polling fallback's log) and
hands it to the publisher in `session.info` once the transaction has committed.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import delete, insert, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.db import on_commit, utcnow
from skyslots.models import Event, RosterChange
from skyslots.realtime.messages import change_message, deleted_message, encode

PUBLISHER_KEY = "roster_publisher"
# The polling log keeps the newest KEEP_CHANGES changes per event (older `since` values get a
# snapshot); trimming runs on one change in PRUNE_EVERY, so a claim rarely pays for it.
KEEP_CHANGES = 500
PRUNE_EVERY = 100

_changes = RosterChange.__table__  # type: ignore[attr-defined]


class RosterPublisher(Protocol):
    async def publish(self, event_id: int, message: str) -> None:
        """Send an encoded message to the event's subscribers; never raises."""


async def _bump(session: AsyncSession, event_id: int) -> int:
    result = await session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(version=Event.version + 1)
        .returning(Event.version)
    )
    return result.scalar_one()


# The log row's message: the caller's JSON with the new version stamped in (event.updated carries
# it twice). `{version}` is the SQL expression of the new version.
_STAMPED_MESSAGE = """
    jsonb_set(
        jsonb_set(CAST(:message AS jsonb), '{{version}}', to_jsonb({version})),
        '{{event,version}}', to_jsonb({version}), false
    )"""

# PostgreSQL: the version bump and its log row in one statement, so the event's row lock (which
# every claim on the event queues for) is held for this one round trip and the commit.
_BUMP_AND_LOG = text(
    f"""
    WITH bumped AS (
        UPDATE events SET version = version + 1 WHERE id = :event_id RETURNING version
    )
    INSERT INTO roster_changes (event_id, version, message, created_at)
    SELECT :event_id, version, {_STAMPED_MESSAGE.format(version="version")}::json, now()
    FROM bumped
    RETURNING version
    """
)


def bump_and_log_after(source: str, *, stamp_id: str | None = None, only_if: str = "TRUE") -> str:
    """PostgreSQL CTEs `bumped` and `logged`: `_BUMP_AND_LOG` for a change written in the same
    statement, taken only if the CTE `source` returned a row.

    The statement binds :event_id and :message (the encoded message); `stamp_id` is the JSON path
    (e.g. `{slot,booking,id}`) that receives `source.id` in the logged message. The caller selects
    `bumped.version` and hands it to `roster_written`. `only_if` is a further condition on the
    event row, checked once its lock is held (after any concurrent change to it has committed).
    """
    message = _STAMPED_MESSAGE.format(version="bumped.version")
    if stamp_id is not None:
        message = f"jsonb_set({message}, '{stamp_id}', to_jsonb({source}.id))"
    return f"""
    bumped AS (
        UPDATE events SET version = version + 1
        WHERE id = :event_id AND ({only_if}) AND EXISTS (SELECT 1 FROM {source})
        RETURNING version
    ),
    logged AS (
        INSERT INTO roster_changes (event_id, version, message, created_at)
        SELECT :event_id, bumped.version, {message}::json, now()
        FROM bumped, {source}
    )"""


def _stamp(message: dict[str, Any], version: int) -> None:
    message["version"] = version
    if isinstance(message.get("event"), dict):
        message["event"]["version"] = version


async def _bump_and_log(session: AsyncSession, event_id: int, message: dict[str, Any]) -> int:
    """Take the next version (locking the event row until commit) and log its message."""
    if session.get_bind().dialect.name == "postgresql":
        params = {"event_id": event_id, "message": encode(message)}
        version: int = (await session.execute(_BUMP_AND_LOG, params)).scalar_one()
        return version
    # SQLite: writers are serialized by BEGIN IMMEDIATE already.
    version = await _bump(session, event_id)
    _stamp(message, version)
    await session.execute(
        insert(_changes).values(
            event_id=event_id, version=version, message=message, created_at=utcnow()
        )
    )
    return version


def _publish_after_commit(session: AsyncSession, event_id: int, message: dict[str, Any]) -> None:
    publisher: RosterPublisher | None = session.info.get(PUBLISHER_KEY)
    if publisher is None:  # the CLI and scripts run without a realtime hub
        return
    raw = encode(message)

    async def publish() -> None:
        await publisher.publish(event_id, raw)

    on_commit(session, publish)


async def roster_written(
    session: AsyncSession, *, event_id: int, message: dict[str, Any], version: int
) -> None:
    """After `message` was logged as `version`: stamp it, trim the log, publish after commit."""
    _stamp(message, version)
    if version % PRUNE_EVERY == 0 and version > KEEP_CHANGES:
        await session.execute(
            delete(_changes).where(
                _changes.c.event_id == event_id, _changes.c.version <= version - KEEP_CHANGES
            )
        )
    _publish_after_commit(session, event_id, message)


async def roster_record(session: AsyncSession, *, event_id: int, message: dict[str, Any]) -> int:
    """Bump the event's version for a prebuilt `message`, log it and (after commit) publish it.

    Call it last in a unit of work: the UPDATE locks the event row until commit, which is what
    keeps versions contiguous per event across processes.
    """
    version = await _bump_and_log(session, event_id, message)
    await roster_written(session, event_id=event_id, message=message, version=version)
    return version


async def roster_changed(
    session: AsyncSession, *, event_id: int, change: str, data: dict[str, Any]
) -> int:
    """Bump the event's version for `change`, record and (after commit) publish its message.

    Call it last in a unit of work (see `roster_record`). The message is read just before (see
    `change_message` for why it is still current), so the lock covers one statement.
    """
    message = await change_message(session, event_id=event_id, change=change, data=data)
    return await roster_record(session, event_id=event_id, message=message)


async def roster_deleted(session: AsyncSession, *, event_id: int) -> int:
    """Before deleting an event: take its last version and publish `event.deleted` after commit."""
    version = await _bump(session, event_id)
    _publish_after_commit(session, event_id, deleted_message(event_id=event_id, version=version))
    return version
