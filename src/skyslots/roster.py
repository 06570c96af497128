"""The roster journal: every committed change bumps its event's version (the realtime layer's
clock), leaves its message in `roster_changes` (the polling fallback's log) and its audit row,
and is handed to the realtime publisher once the transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from skyslots.audit.service import Actor
from skyslots.db import UTCDateTime, on_commit, utcnow
from skyslots.models import AuditLog, Event, EventStatus, RosterChange
from skyslots.realtime.messages import change_message, deleted_message, encode, stamped

PUBLISHER_KEY = "roster_publisher"
WATCH_KEY = "roster_watch"  # a RosterWatch: told (after commit) which event's roster changed
# The polling log keeps the newest KEEP_CHANGES changes per event (older `since` values get a
# snapshot); trimming runs on one change in PRUNE_EVERY, so a claim rarely pays for it.
KEEP_CHANGES = 500
PRUNE_EVERY = 100

_changes = RosterChange.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]
_audit = AuditLog.__table__  # type: ignore[attr-defined]


class RosterPublisher(Protocol):
    async def publish(self, event_id: int, message: str) -> None:
        """Send an encoded message to the event's subscribers; never raises."""


class RosterWatch(Protocol):
    def __call__(self, event_id: int) -> None:
        """The event's roster changed and committed (e.g. to regenerate its stored files); must
        return at once and never raise."""


@dataclass(frozen=True)
class AuditEntry:
    """The audit row a roster change writes with itself."""

    actor: Actor
    action: str
    payload: dict[str, Any]


def _bump(*, only_published: bool) -> Any:
    statement = update(_events).where(_events.c.id == bindparam("event_id"))
    if only_published:
        # Checked once the row lock is held, i.e. after a concurrent cancel or unpublish committed.
        statement = statement.where(_events.c.status == EventStatus.PUBLISHED.value)
    return statement.values(version=_events.c.version + 1).returning(_events.c.version)


_AUDIT_VALUES = {
    "event_id": bindparam("event_id"),
    "user_id": bindparam("audit_user_id"),
    "actor": bindparam("audit_actor"),
    "action_type": bindparam("audit_action"),
    "payload": bindparam("audit_payload", type_=JSON),
    "created_at": bindparam("now", type_=UTCDateTime()),
}


def _journal_statement(*, audited: bool, only_published: bool) -> Any:
    """PostgreSQL: the audit row, the version bump and the log row in one statement, so the event's
    row lock (which every change of the event queues for) is held for one round trip and the commit.
    """
    bumped = _bump(only_published=only_published).cte("bumped")
    logged = select(
        bindparam("event_id"),
        bumped.c.version,
        bindparam("message", type_=JSON),
        bindparam("now", type_=UTCDateTime()),
    ).select_from(bumped)
    statement = (
        insert(_changes)
        .from_select(["event_id", "version", "message", "created_at"], logged)
        .returning(_changes.c.version)
    )
    if audited:
        statement = statement.add_cte(insert(_audit).values(_AUDIT_VALUES).cte("audit"))
    return statement


_JOURNAL = {
    (audited, published): _journal_statement(audited=audited, only_published=published)
    for audited in (False, True)
    for published in (False, True)
}
_BUMP = {published: _bump(only_published=published) for published in (False, True)}


async def _journal_separately(
    connection: AsyncConnection, params: dict[str, Any], *, audited: bool, only_published: bool
) -> int | None:
    """Other engines (SQLite): the same rows in three statements; its writers are serialized."""
    version = (await connection.execute(_BUMP[only_published], params)).scalar_one_or_none()
    if version is None:
        return None
    if audited:
        await connection.execute(insert(_audit).values(_AUDIT_VALUES), params)
    await connection.execute(
        insert(_changes).values(
            event_id=bindparam("event_id"),
            version=version,
            message=bindparam("message", type_=JSON),
            created_at=bindparam("now", type_=UTCDateTime()),
        ),
        params,
    )
    return int(version)


async def journal_change(
    session: AsyncSession,
    *,
    event_id: int,
    message: dict[str, Any],
    audit: AuditEntry | None = None,
    only_published: bool = False,
    now: datetime | None = None,
) -> int | None:
    """Record a change: its audit row, the event's next version and the logged `message`; publish
    the stamped message after commit. Returns the version, or None (nothing written) when
    `only_published` and the event is no longer published.

    Call it last in a unit of work: the version bump locks the event row until commit, which is
    what keeps versions contiguous per event across processes.
    """
    connection = await session.connection()
    params: dict[str, Any] = {"event_id": event_id, "message": message, "now": now or utcnow()}
    if audit is not None:
        params |= {
            "audit_user_id": audit.actor.user_id,
            "audit_actor": audit.actor.label,
            "audit_action": audit.action,
            "audit_payload": audit.payload,
        }
    audited = audit is not None
    if connection.dialect.name == "postgresql":
        statement = _JOURNAL[(audited, only_published)]
        version = (await connection.execute(statement, params)).scalar_one_or_none()
    else:
        version = await _journal_separately(
            connection, params, audited=audited, only_published=only_published
        )
    if version is None:
        return None
    if version % PRUNE_EVERY == 0 and version > KEEP_CHANGES:
        await connection.execute(
            delete(_changes).where(
                _changes.c.event_id == event_id, _changes.c.version <= version - KEEP_CHANGES
            )
        )
    _publish_after_commit(session, event_id, stamped(message, version))
    _watch_after_commit(session, event_id)
    return int(version)


def _publish_after_commit(session: AsyncSession, event_id: int, message: dict[str, Any]) -> None:
    publisher: RosterPublisher | None = session.info.get(PUBLISHER_KEY)
    if publisher is None:  # the CLI and scripts run without a realtime hub
        return
    raw = encode(message)

    async def publish() -> None:
        await publisher.publish(event_id, raw)

    on_commit(session, publish)


def _watch_after_commit(session: AsyncSession, event_id: int) -> None:
    watch: RosterWatch | None = session.info.get(WATCH_KEY)
    if watch is None:
        return

    async def changed() -> None:
        watch(event_id)

    on_commit(session, changed)


async def roster_changed(
    session: AsyncSession,
    *,
    event_id: int,
    change: str,
    data: dict[str, Any],
    audit: AuditEntry | None = None,
) -> int:
    """Read the message for `change` (see `change_message`) and journal it; returns the version.

    Call it last in a unit of work (see `journal_change`).
    """
    message = await change_message(session, event_id=event_id, change=change, data=data)
    version = await journal_change(session, event_id=event_id, message=message, audit=audit)
    assert version is not None  # no `only_published` condition
    return version


async def roster_deleted(session: AsyncSession, *, event_id: int) -> int:
    """Before deleting an event: take its last version and publish `event.deleted` after commit."""
    connection = await session.connection()
    version = int((await connection.execute(_BUMP[False], {"event_id": event_id})).scalar_one())
    _publish_after_commit(session, event_id, deleted_message(event_id=event_id, version=version))
    return version


__all__ = [
    "AuditEntry",
    "RosterPublisher",
    "RosterWatch",
    "journal_change",
    "roster_changed",
    "roster_deleted",
]
