"""A booking references its slot and the slot's event as one key, (slot_id, event_id) ->
slots(id, event_id), instead of two foreign keys. The event id can no longer disagree with the
slot's, and a new booking's key check locks the slot's row (which the claim holds already), not
the event's: with a separate key to events, every claim in flight held a KEY SHARE lock on the
event row that the roster-version bump updates, and PostgreSQL spent more CPU on those shared
row locks than on the claims themselves.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence

from alembic import op
from alembic.operations import BatchOperations

from skyslots.migrations.rebuild import rebuild_keeping_indexes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        batch.create_unique_constraint(op.f("uq_slots_id_event_id"), ["id", "event_id"])
    rebuild_keeping_indexes("bookings", _one_key)


def downgrade() -> None:
    rebuild_keeping_indexes("bookings", _two_keys)
    with op.batch_alter_table("slots") as batch:
        batch.drop_constraint(op.f("uq_slots_id_event_id"), type_="unique")


def _one_key(batch: BatchOperations) -> None:
    batch.drop_constraint(op.f("fk_bookings_slot_id_slots"), type_="foreignkey")
    batch.drop_constraint(op.f("fk_bookings_event_id_events"), type_="foreignkey")
    batch.create_foreign_key(
        op.f("fk_bookings_slot_id_slots"),
        "slots",
        ["slot_id", "event_id"],
        ["id", "event_id"],
        ondelete="CASCADE",
    )


def _two_keys(batch: BatchOperations) -> None:
    batch.drop_constraint(op.f("fk_bookings_slot_id_slots"), type_="foreignkey")
    batch.create_foreign_key(
        op.f("fk_bookings_event_id_events"), "events", ["event_id"], ["id"], ondelete="CASCADE"
    )
    batch.create_foreign_key(
        op.f("fk_bookings_slot_id_slots"), "slots", ["slot_id"], ["id"], ondelete="CASCADE"
    )
