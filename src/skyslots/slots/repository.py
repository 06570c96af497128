"""The public slot shape, defined once: its columns (the slot and its occupant) and its JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.db import utcnow
from skyslots.models import Booking, BookingStatus, Slot
from skyslots.models.booking import OCCUPYING
from skyslots.slots.schemas import SlotOut, SlotPublic, SlotState

slots_table = Slot.__table__  # type: ignore[attr-defined]
bookings_table = Booking.__table__  # type: ignore[attr-defined]

occupant = bookings_table.alias("occupant")
# The occupant's columns as the public shape reads them (`occupant_id` None when free).
OCCUPANT_COLUMNS = (
    occupant.c.id.label("occupant_id"),
    occupant.c.status.label("occupant_status"),
    occupant.c.pilot_callsign.label("occupant_callsign"),
    occupant.c.pilot_name.label("occupant_name"),
    occupant.c.claimed_at.label("occupant_claimed_at"),
    occupant.c.expires_at.label("occupant_expires_at"),
)
# Literal values, not bound ones: the condition then matches the partial unique index's own
# predicate (PostgreSQL uses that index for the join) and needs no per-execution IN expansion.
OCCUPANT_IS_ACTIVE = occupant.c.status.in_([literal_column(f"'{s.value}'") for s in OCCUPYING])
PUBLIC_SLOT_COLUMNS = (*(slots_table.c[key] for key in SlotOut.model_fields), *OCCUPANT_COLUMNS)
ROSTER_ORDER = (slots_table.c.order_index, slots_table.c.start_time, slots_table.c.id)


def public_slots_select(*extra: Any) -> Select[Any]:
    """SELECT the public slot columns (and `extra`), each slot joined to its occupant if any."""
    return select(*PUBLIC_SLOT_COLUMNS, *extra).outerjoin_from(
        slots_table,
        occupant,
        (occupant.c.slot_id == slots_table.c.id) & OCCUPANT_IS_ACTIVE,
    )


def public_slot_model(values: Mapping[str, Any], now: datetime | None = None) -> SlotPublic:
    """A row of the public slot columns as a SlotPublic; an expired hold shows as free."""
    fields: dict[str, Any] = {key: values[key] for key in SlotOut.model_fields}
    status = values["occupant_status"]
    if status == BookingStatus.CLAIMED:
        fields["status"] = SlotState.TAKEN
        fields["booking"] = {
            "id": values["occupant_id"],
            "pilot_callsign": values["occupant_callsign"],
            "pilot_name": values["occupant_name"],
            "status": status,
            "claimed_at": values["occupant_claimed_at"],
        }
    elif status is not None and values["occupant_expires_at"] > (now or utcnow()):
        fields["status"] = SlotState.HELD
        fields["expires_at"] = values["occupant_expires_at"]
    return SlotPublic.model_validate(fields)


def public_slot(values: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A row of the public slot columns as SlotPublic JSON (what realtime messages carry)."""
    return public_slot_model(values, now).model_dump(mode="json")


def with_occupant(
    values: Mapping[str, Any],
    *,
    occupant_id: int | None,
    status: BookingStatus | None = None,
    callsign: str | None = None,
    name: str | None = None,
    claimed_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """`values` (public slot columns) with another occupant: the state a write just made."""
    return {
        **values,
        "occupant_id": occupant_id,
        "occupant_status": status,
        "occupant_callsign": callsign,
        "occupant_name": name,
        "occupant_claimed_at": claimed_at,
        "occupant_expires_at": expires_at,
    }


async def public_slot_models(
    connection: AsyncConnection,
    *,
    event_id: int,
    slot_ids: Sequence[int] | None = None,
    lock: bool = False,
) -> list[SlotPublic]:
    """The event's slots (all, or those in `slot_ids`) in roster order, as SlotPublic.

    `lock` reads them FOR SHARE (PostgreSQL), so they stay as read until the unit of work ends.
    """
    statement = public_slots_select().where(slots_table.c.event_id == event_id)
    if slot_ids is not None:
        statement = statement.where(slots_table.c.id.in_(slot_ids))
    if lock:
        statement = statement.with_for_update(read=True, of=slots_table)
    now = utcnow()
    rows = await connection.execute(statement.order_by(*ROSTER_ORDER))
    return [public_slot_model(row._mapping, now) for row in rows]


async def public_slots(
    connection: AsyncConnection,
    *,
    event_id: int,
    slot_ids: Sequence[int] | None = None,
    lock: bool = False,
) -> list[dict[str, Any]]:
    """`public_slot_models` as JSON, for realtime messages and snapshots."""
    models = await public_slot_models(connection, event_id=event_id, slot_ids=slot_ids, lock=lock)
    return [model.model_dump(mode="json") for model in models]
