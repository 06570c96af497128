"""Removing a person's traces from the rows that copy them: outbox rows (a mail's recipient, a
webhook's body), audit payloads and actor labels, the roster's change log, replayed responses."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.audit.service import Actor
from skyslots.idempotency.middleware import answer_sealer
from skyslots.models import AuditLog, IdempotencyKey, OutboxMessage, RosterChange
from skyslots.models.outbox import DeliveryStatus
from skyslots.privacy.traces import DELETED, Traces

PURGED_ERROR = "personal data deleted"
_outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
_audit = AuditLog.__table__  # type: ignore[attr-defined]
_changes = RosterChange.__table__  # type: ignore[attr-defined]
_replays = IdempotencyKey.__table__  # type: ignore[attr-defined]


async def outbox_high_water(connection: AsyncConnection) -> int:
    """The newest outbox row's id: rows written later (by the release that a deletion makes,
    about "Deleted user") are not theirs to scrub."""
    return int((await connection.scalar(select(func.max(_outbox.c.id)))) or 0)


async def scrub_outbox(
    connection: AsyncConnection,
    traces: Traces,
    *,
    by_target: bool = True,
    by_reference: bool = False,
    everywhere: bool = False,
    up_to_id: int | None = None,
) -> int:
    """Scrub the outbox rows of `traces.event_ids` (and, `everywhere`, any row sent to one of
    their emails) that hold their traces: a recipient of theirs (`by_target`), their email or
    name in the body, or (`by_reference`) a body about a booking or entry of theirs. Scrubbed:
    target "(deleted)", payload {}, a pending row dead. How many were scrubbed."""
    conditions = [_outbox.c.event_id.in_(traces.event_ids)]
    if everywhere and traces.emails:
        conditions.append(func.lower(_outbox.c.target).in_(traces.emails))
    query = select(_outbox.c.id, _outbox.c.target, _outbox.c.payload, _outbox.c.status).where(
        or_(*conditions), _outbox.c.target != DELETED
    )
    if up_to_id is not None:
        query = query.where(_outbox.c.id <= up_to_id)
    hits = [
        row
        for row in await connection.execute(query)
        if (by_target and traces.has_email(row.target))
        or traces.found_in(row.payload)
        or (by_reference and traces.refers_to(row.payload))
    ]
    for row in hits:
        values: dict[str, Any] = {"target": DELETED, "payload": {}}
        if row.status == DeliveryStatus.PENDING:
            values |= {"status": DeliveryStatus.DEAD.value, "last_error": PURGED_ERROR}
        await connection.execute(update(_outbox).where(_outbox.c.id == row.id).values(**values))
    return len(hits)


async def scrub_audit(
    connection: AsyncConnection, traces: Traces, *, user_id: int | None = None
) -> None:
    """Audit rows keep what happened, not who: the deleted user's label becomes
    `user:<id> (deleted)`, payload values naming them are replaced."""
    conditions = [_audit.c.event_id.in_(traces.event_ids)]
    if user_id is not None:
        conditions.append(_audit.c.user_id == user_id)
    rows = await connection.execute(
        select(_audit.c.id, _audit.c.user_id, _audit.c.payload).where(or_(*conditions))
    )
    for row in list(rows):
        values: dict[str, Any] = {}
        if user_id is not None and row.user_id == user_id:
            values["actor"] = Actor.deleted_label(user_id)
        if traces.found_in(row.payload):
            values["payload"] = traces.scrubbed(row.payload)
        if values:
            await connection.execute(update(_audit).where(_audit.c.id == row.id).values(**values))


async def scrub_roster_log(connection: AsyncConnection, traces: Traces) -> None:
    """The polling log's messages showed their bookings' names: those become "Deleted user"."""
    rows = await connection.execute(
        select(_changes.c.event_id, _changes.c.version, _changes.c.message).where(
            _changes.c.event_id.in_(traces.event_ids)
        )
    )
    for row in list(rows):
        if traces.found_in(row.message):
            await connection.execute(
                update(_changes)
                .where(_changes.c.event_id == row.event_id, _changes.c.version == row.version)
                .values(message=traces.scrubbed(row.message))
            )


async def drop_replays(connection: AsyncConnection, traces: Traces, *, secret_key: str) -> None:
    """Idempotency keys of their writes whose kept answer (encrypted) shows them (a booking's
    name): deleted, so a retried request runs afresh instead of replaying."""
    paths = [
        *(f"POST /api/slots/{slot_id}/{action}" for slot_id in traces.slot_ids
          for action in ("book", "hold")),
        *(f"POST /api/bookings/{booking_id}/release" for booking_id in traces.booking_ids),
        *(f"POST /api/waitlist/{entry_id}/accept" for entry_id in traces.entry_ids),
        *(f"POST /api/events/{event_id}/waitlist" for event_id in traces.event_ids),
    ]  # fmt: skip
    if not paths:
        return
    rows = await connection.execute(
        select(_replays.c.id, _replays.c.response_body).where(_replays.c.path.in_(paths))
    )
    opener = answer_sealer(secret_key)
    doomed = [row.id for row in rows if _replay_shows(opener, row.response_body, traces)]
    if doomed:
        await connection.execute(delete(_replays).where(_replays.c.id.in_(doomed)))


def _replay_shows(opener: Fernet, body: str | None, traces: Traces) -> bool:
    try:
        text = opener.decrypt((body or "").encode()).decode("utf-8", errors="replace")
    except InvalidToken:  # kept under another secret key: it can never be replayed anyway
        return True
    if traces.has_email(text):
        return True
    try:
        return traces.found_in(json.loads(text))
    except ValueError:
        return False


async def scrub_traces(
    connection: AsyncConnection,
    traces: Traces,
    *,
    up_to_id: int,
    secret_key: str,
    user_id: int | None = None,
) -> None:
    """Every copy of their traces outside their own rows. A deleted account's (`user_id`)
    address is scrubbed from every outbox row; one booking's rows only in its event."""
    account = user_id is not None
    await scrub_outbox(
        connection,
        traces,
        by_target=account,
        by_reference=True,
        everywhere=account,
        up_to_id=up_to_id,
    )
    await scrub_audit(connection, traces, user_id=user_id)
    await scrub_roster_log(connection, traces)
    await drop_replays(connection, traces, secret_key=secret_key)
