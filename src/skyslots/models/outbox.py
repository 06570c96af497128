from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column

UNSENT_ONLY = text("sent_at IS NULL")


class OutboxMessage(SQLModel, table=True):
    """A side effect to deliver (a mail, a Discord post, a webhook call), written in the same
    transaction as the change that causes it; a relay delivers it afterwards."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_next_attempt_at",
            "next_attempt_at",
            postgresql_where=UNSENT_ONLY,
            sqlite_where=UNSENT_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("events.id", ondelete="SET NULL"), nullable=True),
    )
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    target: str = Field(sa_column=Column(String(1000), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
