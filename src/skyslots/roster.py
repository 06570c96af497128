"""The roster journal: every committed change bumps its event's version (the realtime layer's
clock), leaves its message in `roster_changes` (the polling fallback's log) and its audit row,
and is handed to the realtime publisher once the transaction has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import JSON, bindparam, delete, insert, select, true, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from skyslots.audit.service import Actor
from skyslots.db import UTCDateTime, on_commit, utcnow
from skyslots.jobs.kick import kick_after_commit
from skyslots.models import AuditLog, Event, EventStatus, RosterChange
from skyslots.outbox.service import OUTBOX, OutboxRow, outbox_insert
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


_OUTBOX_DEFAULTED = {"last_error", "sent_at"}


def _queued_rows(count: int, bumped: Any) -> Any:
    """`count` outbox rows from parameters `outbox<n>_<column>`, written only when the bump was."""
    columns = [c for c in OUTBOX.c if c.name != "id" and c.name not in _OUTBOX_DEFAULTED]
    rows = [
        select(*(bindparam(f"outbox{n}_{c.name}", type_=c.type) for c in columns)).select_from(
            bumped
        )
        for n in range(count)
    ]
    source = rows[0] if count == 1 else union_all(*rows)
    return (
        insert(OUTBOX)
        .from_select([c.name for c in columns], source)
        .returning(OUTBOX.c.id)
        .cte("queued")
    )


@cache
def _journal_statement(*, audited: bool, only_published: bool, outboxed: int = 0) -> Any:
    """PostgreSQL: the audit row, the version bump, the log row and the change's outbox rows in
    one statement, so the event's row lock (which every change of the event queues for) is held
    for one round trip and the commit. Rows of (version[, outbox id]); none when not bumped.
    """
    bumped = _bump(only_published=only_published).cte("bumped")
    logged = select(
        bindparam("event_id"),
        bumped.c.version,
        bindparam("message", type_=JSON),
        bindparam("now", type_=UTCDateTime()),
    ).select_from(bumped)
    statement: Any = (
        insert(_changes)
        .from_select(["event_id", "version", "message", "created_at"], logged)
        .returning(_changes.c.version)
    )
    if outboxed:
        changes = statement.cte("logged")
        queued = _queued_rows(outboxed, bumped)
        statement = select(changes.c.version, queued.c.id).select_from(changes.join(queued, true()))
    if audited:
        statement = statement.add_cte(insert(_audit).values(_AUDIT_VALUES).cte("audit"))
    return statement


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
    outbox: Sequence[OutboxRow] = (),
) -> int | None:
    """Record a change: its audit row, the event's next version, the logged `message` and the
    `outbox` rows it causes; publish the stamped message after commit. Returns the version, or
    None (nothing written) when `only_published` and the event is no longer published.

    Call it last in a unit of work: the version bump locks the event row until commit, which is
    what keeps versions contiguous per event across processes.
    """
    connection = await session.connection()
    now = now or utcnow()
    params: dict[str, Any] = {"event_id": event_id, "message": message, "now": now}
    if audit is not None:
        params |= {
            "audit_user_id": audit.actor.user_id,
            "audit_actor": audit.actor.label,
            "audit_action": audit.action,
            "audit_payload": audit.payload,
        }
    audited = audit is not None
    if connection.dialect.name == "postgresql":
        for n, row in enumerate(outbox):
            params |= {f"outbox{n}_{key}": value for key, value in row.values(now).items()}
        statement = _journal_statement(
            audited=audited, only_published=only_published, outboxed=len(outbox)
        )
        rows = (await connection.execute(statement, params)).all()
        if not rows:
            return None
        version = rows[0][0]
        queued = [row[1] for row in rows] if outbox else []
    else:
        version = await _journal_separately(
            connection, params, audited=audited, only_published=only_published
        )
        if version is None:
            return None
        queued = [await outbox_insert(connection, row, now) for row in outbox]
    for row_id in queued:
        kick_after_commit(session, int(row_id))
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
