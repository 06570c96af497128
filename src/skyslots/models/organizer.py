from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column


class EventOrganizer(SQLModel, table=True):
    """A co-organizer: an account that manages one event besides its owner (`organizer_id`)."""

    __tablename__ = "event_organizers"
    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    added_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    # Who added them (the owner or an admin); kept when that account is deleted.
    added_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
