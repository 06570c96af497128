"""Events: create, read, update, delete, with the organizer's authority checked here."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor, audit_record
from skyslots.db import utcnow
from skyslots.errors import Forbidden, NotFound, ValidationFailed
from skyslots.events.airports import airport_lookup
from skyslots.events.schemas import NOT_CLEARABLE, EventCreate, EventUpdate
from skyslots.models import Event, EventOrganizer, EventStatus, Role, Slot, User
from skyslots.organizers.repository import co_organizes
from skyslots.roster import roster_changed, roster_deleted
from skyslots.webhooks.fanout import webhooks_fan_out

AUDITED_FIELDS = (
    "title",
    "start_datetime",
    "end_datetime",
    "airport_icao",
    "timezone",
    "status",
    "booking_opens_at",
    "booking_closes_at",
    "hold_seconds",
    "waitlist_mode",
    "offer_seconds",
    "max_slots_per_person",
    "booking_requires_login",
    "apply_rating_defaults",
)


class Organized(Protocol):
    """An event, or a row about one (a slot's context) that names its event and owner."""

    @property
    def organizer_id(self) -> int: ...


async def can_manage(
    session: AsyncSession, *, event_id: int, organizer_id: int, user: User | None
) -> bool:
    """The one rule for managing an event: its owner, one of its co-organizers, or an admin."""
    if user is None or user.id is None:
        return False
    if user.role == Role.ADMIN or user.id == organizer_id:
        return True
    return await co_organizes(session, event_id=event_id, user_id=user.id)


async def ensure_can_manage(
    session: AsyncSession, *, event_id: int, organizer_id: int, user: User
) -> None:
    """403 unless `user` may manage the event (see `can_manage`)."""
    if not await can_manage(session, event_id=event_id, organizer_id=organizer_id, user=user):
        raise Forbidden(
            "Only this event's organizers or an admin can do that.", code="not_organizer"
        )


def owns(event: Organized, user: User | None) -> bool:
    """The owner's and admins' rights: delete the event, choose its co-organizers."""
    return user is not None and (user.role == Role.ADMIN or user.id == event.organizer_id)


def ensure_owns(event: Event, user: User) -> None:
    if not owns(event, user):
        raise Forbidden("Only this event's owner or an admin can do that.", code="not_owner")


async def event_get(session: AsyncSession, *, event_id: int, for_update: bool = False) -> Event:
    """The event, or 404."""
    statement = select(Event).where(Event.id == event_id)
    if for_update:
        statement = statement.with_for_update()
    event = (await session.execute(statement)).scalar_one_or_none()
    if event is None:
        raise NotFound(f"Event {event_id} does not exist.", code="event_not_found")
    return event


async def event_visible(session: AsyncSession, *, event_id: int, viewer: User | None) -> Event:
    """The event if the viewer may see it: drafts only for their organizer and admins."""
    event = await event_get(session, event_id=event_id)
    if event.status == EventStatus.DRAFT and not await _manages(session, event, viewer):
        raise NotFound(f"Event {event_id} does not exist.", code="event_not_found")
    return event


async def event_managed(session: AsyncSession, *, event_id: int, user: User) -> Event:
    """The event if `user` may manage it: 404 when unknown, 403 when not theirs."""
    event = await event_get(session, event_id=event_id)
    await ensure_can_manage(session, event_id=event_id, organizer_id=event.organizer_id, user=user)
    return event


async def event_owned(session: AsyncSession, *, event_id: int, user: User) -> Event:
    """The event if `user` owns it (or is an admin): 404 when unknown, 403 otherwise."""
    event = await event_get(session, event_id=event_id)
    ensure_owns(event, user)
    return event


async def _manages(session: AsyncSession, event: Event, user: User | None) -> bool:
    assert event.id is not None
    return await can_manage(session, event_id=event.id, organizer_id=event.organizer_id, user=user)


def _serializable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


async def event_create(session: AsyncSession, *, organizer: User, data: EventCreate) -> Event:
    """Create an event owned by `organizer` (draft unless a status is given)."""
    airport = airport_lookup(data.airport_icao)
    event = Event(
        **data.model_dump(exclude={"timezone"}),
        timezone=data.timezone or (airport.timezone if airport else "UTC"),
        airport_name=airport.name if airport else "",
        organizer_id=organizer.id,
    )
    session.add(event)
    await session.flush()
    audit_record(
        session,
        actor=Actor.of_user(organizer),
        action="event.created",
        event_id=event.id,
        payload=_serializable(data.model_dump(include=set(AUDITED_FIELDS))),
    )
    return event


async def _ensure_slots_inside(
    session: AsyncSession, *, event_id: int, start: datetime, end: datetime
) -> None:
    block_outside = Slot.start_time.is_not(None) & (
        (Slot.start_time < start) | (Slot.end_time > end)
    )
    time_outside = Slot.slot_time.is_not(None) & ((Slot.slot_time < start) | (Slot.slot_time > end))
    outside = await session.scalar(
        select(func.count())
        .select_from(Slot)
        .where(Slot.event_id == event_id, block_outside | time_outside)
    )
    if outside:
        raise ValidationFailed(
            "start_datetime",
            f"{outside} slot(s) would fall outside the new event times; move them first",
        )


async def event_update(
    session: AsyncSession, *, event_id: int, user: User, data: EventUpdate
) -> Event:
    """Apply a partial update; times stay ordered and keep every slot inside the event."""
    event = await event_managed(session, event_id=event_id, user=user)
    changes = data.model_dump(exclude_unset=True)
    for field in NOT_CLEARABLE:
        if field in changes and changes[field] is None:
            raise ValidationFailed(field, f"{field} cannot be cleared")
    if "airport_icao" in changes:
        changes["airport_icao"] = changes["airport_icao"].upper()
        airport = airport_lookup(changes["airport_icao"])
        if airport is None and not changes.get("timezone"):
            raise ValidationFailed(
                "airport_icao",
                f"unknown airport {changes['airport_icao']}: give its IANA timezone as well",
            )
        changes["airport_name"] = airport.name if airport else ""
        changes.setdefault("timezone", airport.timezone if airport else None)
    if changes.get("timezone") is None:
        changes.pop("timezone", None)

    start = changes.get("start_datetime", event.start_datetime)
    end = changes.get("end_datetime", event.end_datetime)
    if end <= start:
        raise ValidationFailed("end_datetime", "end_datetime must be after start_datetime")
    opens = changes.get("booking_opens_at", event.booking_opens_at)
    closes = changes.get("booking_closes_at", event.booking_closes_at)
    if opens and closes and closes <= opens:
        raise ValidationFailed(
            "booking_closes_at", "booking_closes_at must be after booking_opens_at"
        )
    if (start, end) != (event.start_datetime, event.end_datetime):
        await _ensure_slots_inside(session, event_id=event_id, start=start, end=end)

    changed = {k: v for k, v in changes.items() if getattr(event, k) != v}
    if not changed:
        return event
    for field, value in changed.items():
        setattr(event, field, value)
    event.updated_at = utcnow()
    await session.flush()
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="event.updated",
        event_id=event.id,
        payload=_serializable({k: v for k, v in changed.items() if k in AUDITED_FIELDS}),
    )
    cancelled = changed.get("status") == EventStatus.CANCELLED
    await webhooks_fan_out(
        session,
        event_id=event_id,
        type="event.cancelled" if cancelled else "event.updated",
        data={"changes": _serializable(changed)},
    )
    event.version = await roster_changed(
        session, event_id=event_id, change="event.updated", data=_serializable(changed)
    )
    return event


async def event_delete(session: AsyncSession, *, event_id: int, user: User) -> None:
    """Delete an event with its slots and bookings (its owner or an admin); the audit log keeps
    a record."""
    event = await event_owned(session, event_id=event_id, user=user)
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="event.deleted",
        event_id=None,
        payload={"event_id": event.id, "title": event.title},
    )
    await roster_deleted(session, event_id=event.id)  # live clients get `event.deleted`
    await session.delete(event)  # slots and bookings go with it (ON DELETE CASCADE)
    await session.flush()


async def events_published(
    session: AsyncSession,
    *,
    airport: str | None,
    starts_from: datetime | None,
    starts_to: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Event], int]:
    """Published events: those not yet over (soonest first), then past ones (latest first)."""
    now = utcnow()
    conditions = [Event.status == EventStatus.PUBLISHED]
    if airport:
        conditions.append(Event.airport_icao == airport.upper())
    if starts_from:
        conditions.append(Event.end_datetime >= starts_from)
    if starts_to:
        conditions.append(Event.start_datetime <= starts_to)
    where = and_(*conditions)
    total = await session.scalar(select(func.count()).select_from(Event).where(where)) or 0
    is_past = Event.end_datetime < now
    upcoming_start = case((is_past, None), else_=Event.start_datetime)
    rows = await session.execute(
        select(Event)
        .where(where)
        .order_by(
            case((is_past, 1), else_=0), upcoming_start, Event.start_datetime.desc(), Event.id
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars()), total


async def events_managed_by(session: AsyncSession, *, user: User) -> list[Event]:
    """Events the user owns or co-organizes (all events for an admin), newest start first."""
    statement = select(Event).order_by(Event.start_datetime.desc(), Event.id.desc())
    if user.role != Role.ADMIN:
        co_organized = select(EventOrganizer.event_id).where(EventOrganizer.user_id == user.id)
        statement = statement.where((Event.organizer_id == user.id) | Event.id.in_(co_organized))
    return list((await session.execute(statement)).scalars())
