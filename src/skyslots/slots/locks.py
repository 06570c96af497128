"""Locking or unlocking many slots of one event at once: one audit row, one realtime message."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.audit.service import Actor, audit_record
from skyslots.errors import ValidationFailed
from skyslots.events.service import event_managed
from skyslots.models import Slot, User
from skyslots.roster import roster_changed
from skyslots.slots.service import slot_label

_table = Slot.__table__  # type: ignore[attr-defined]
_slots = _table.c


async def slots_lock(
    session: AsyncSession, *, event_id: int, user: User, slot_ids: Sequence[int], locked: bool
) -> list[int]:
    """Lock or unlock slots of one event; the ids whose lock state changed (422 for foreign ids)."""
    await event_managed(session, event_id=event_id, user=user)
    # FOR UPDATE in id order: claims on these slots finish first, and two bulk locks on the same
    # slots queue instead of deadlocking.
    rows = (
        await session.execute(
            select(
                _slots.id,
                _slots.is_locked,
                _slots.position_name,
                _slots.start_time,
                _slots.end_time,
            )
            .where(_slots.event_id == event_id, _slots.id.in_(sorted(set(slot_ids))))
            .order_by(_slots.id)
            .with_for_update()
        )
    ).all()
    found = {row.id for row in rows}
    missing = [(index, slot_id) for index, slot_id in enumerate(slot_ids) if slot_id not in found]
    if missing:
        index, slot_id = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ValidationFailed(
            ("slot_ids", index), f"slot {slot_id} is not part of event {event_id}{more}"
        )
    changed = [row for row in rows if row.is_locked != locked]
    if not changed:
        return []
    ids = [row.id for row in changed]
    # Core, not ORM: no Slot objects are loaded; a Slot already in this session is not refreshed.
    await session.execute(update(_table).where(_slots.id.in_(ids)).values(is_locked=locked))
    audit_record(
        session,
        actor=Actor.of_user(user),
        action="slots.locked" if locked else "slots.unlocked",
        event_id=event_id,
        payload={"slots": [{"id": row.id, "label": slot_label(row)} for row in changed]},
    )
    await roster_changed(session, event_id=event_id, change="slots.updated", data={"slot_ids": ids})
    return ids
