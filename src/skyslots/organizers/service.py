"""Co-organizers: the owner (or an admin) adds accounts by email; they manage the event too."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.service import user_by_email
from skyslots.audit.service import Actor, audit_record
from skyslots.errors import Conflict, NotFound
from skyslots.events.service import event_managed, event_owned
from skyslots.models import EventOrganizer, User
from skyslots.organizers.repository import co_organizes
from skyslots.organizers.schemas import OrganizerOut


def _out(user: User, *, role: str, link: EventOrganizer | None = None) -> OrganizerOut:
    assert user.id is not None
    added_at = link.added_at if link else None
    return OrganizerOut(
        user_id=user.id, name=user.name, email=user.email, role=role, added_at=added_at
    )


async def organizers_of_event(
    session: AsyncSession, *, event_id: int, user: User
) -> list[OrganizerOut]:
    """The event's owner, then its co-organizers in the order they were added."""
    event = await event_managed(session, event_id=event_id, user=user)
    owner = await session.get(User, event.organizer_id)
    assert owner is not None  # the owner's foreign key is RESTRICT
    rows = await session.execute(
        select(EventOrganizer, User)
        .join(User, User.id == EventOrganizer.user_id)
        .where(EventOrganizer.event_id == event_id)
        .order_by(EventOrganizer.added_at, EventOrganizer.id)
    )
    co = [_out(member, role="co_organizer", link=link) for link, member in rows.all()]
    return [_out(owner, role="owner"), *co]


async def organizer_add(
    session: AsyncSession, *, event_id: int, email: str, user: User
) -> OrganizerOut:
    """Make the account with `email` a co-organizer: 404 without one, 409 when it already is."""
    event = await event_owned(session, event_id=event_id, user=user)
    member = await user_by_email(session, email=email)
    if member is None or member.id is None:
        raise NotFound(f"No SkySlots account has the email {email}.", code="user_not_found")
    if member.id == event.organizer_id:
        raise Conflict(f"{member.name} owns this event already.", code="already_organizer")
    already = Conflict(
        f"{member.name} is a co-organizer of this event already.", code="already_organizer"
    )
    if await co_organizes(session, event_id=event_id, user_id=member.id):
        raise already
    link = EventOrganizer(event_id=event_id, user_id=member.id, added_by=user.id)
    session.add(link)
    try:
        await session.flush()
    except IntegrityError:  # added by a concurrent request since the check
        raise already from None
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="organizer.added",
        event_id=event_id,
        payload={"user_id": member.id},
    )
    return _out(member, role="co_organizer", link=link)


async def organizer_remove(
    session: AsyncSession, *, event_id: int, user_id: int, user: User
) -> None:
    """Remove a co-organizer (the owner cannot be removed): 404 when they are not one."""
    await event_owned(session, event_id=event_id, user=user)
    removed = await session.execute(
        delete(EventOrganizer).where(
            EventOrganizer.event_id == event_id, EventOrganizer.user_id == user_id
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise NotFound(
            f"User {user_id} is not a co-organizer of this event.", code="organizer_not_found"
        )
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="organizer.removed",
        event_id=event_id,
        payload={"user_id": user_id},
    )
