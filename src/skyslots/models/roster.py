from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column


class RosterChange(SQLModel, table=True):
    """One committed roster change as its realtime message; the polling fallback's `since` log.

    Only the newest few hundred per event are kept (see `skyslots.roster`).
    """

    __tablename__ = "roster_changes"

    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    version: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    message: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
