"""Polling fallback: GET /api/events/{id}/state?since=<version> with an ETag per version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.deps import DatabaseDep, OptionalUser
from skyslots.errors import NotFound
from skyslots.events.service import event_visible
from skyslots.models import RosterChange, User
from skyslots.realtime.messages import encode, stamped
from skyslots.realtime.snapshots import snapshot_message
from skyslots.validation import RowId

router = APIRouter(prefix="/api", tags=["realtime"])


@dataclass(frozen=True)
class RosterState:
    etag: str
    body: dict[str, Any] | None  # None: the client's copy is current (304)


def roster_etag(event_id: int, version: int) -> str:
    return f'"{event_id}-{version}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


async def roster_state(
    session: AsyncSession,
    *,
    event_id: int,
    viewer: User | None,
    since: int | None,
    if_none_match: str | None = None,
) -> RosterState:
    """The changes after `since` when all are still logged, else a full snapshot; 304 if current."""
    event = await event_visible(session, event_id=event_id, viewer=viewer)
    version, etag = event.version, roster_etag(event_id, event.version)
    if etag_matches(if_none_match, etag):
        return RosterState(etag, None)
    if since is not None and since <= version:
        rows = await session.execute(
            select(RosterChange.version, RosterChange.message)
            .where(RosterChange.event_id == event_id)
            .where(RosterChange.version > since, RosterChange.version <= version)
            .order_by(RosterChange.version)
        )
        changes = [stamped(message, changed) for changed, message in rows]
        if len(changes) == version - since:  # versions are contiguous: none is missing
            body = {"type": "changes", "event_id": event_id, "version": version, "changes": changes}
            return RosterState(etag, body)
    snapshot = await snapshot_message(session, event_id=event_id, viewer=viewer)
    if snapshot is None:
        raise NotFound(f"Event {event_id} does not exist.", code="event_not_found")
    # Slots can be newer than the version read first; the ETag must name the version sent.
    return RosterState(roster_etag(event_id, snapshot["version"]), snapshot)


@router.get(
    "/events/{event_id}/state",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        304: {"description": "the client's copy (If-None-Match) is current"},
    },
)
async def event_state(
    event_id: RowId,
    db: DatabaseDep,
    viewer: OptionalUser,
    since: Annotated[int | None, Query(ge=0, description="the version the client has")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The roster since `since` (`changes`) or whole (`snapshot`); 304 when the ETag matches."""
    state = await db.read(
        roster_state, event_id=event_id, viewer=viewer, since=since, if_none_match=if_none_match
    )
    headers = {"ETag": state.etag, "Cache-Control": "no-cache"}
    if state.body is None:
        return Response(status_code=304, headers=headers)
    return Response(encode(state.body), media_type="application/json", headers=headers)
