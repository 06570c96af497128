from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class DeliveryStatus(StrEnum):
    """pending (due at next_attempt_at), sent, or dead (out of attempts, or refused for good)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


PENDING_ONLY = text("status = 'pending'")


class OutboxMessage(SQLModel, table=True):
    """A side effect to deliver (a mail, a Discord post, a webhook call), written in the same
    transaction as the change that causes it; a relay delivers it afterwards."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'dead')", name="status"),
        Index(
            "ix_outbox_next_attempt_at",
            "next_attempt_at",
            postgresql_where=PENDING_ONLY,
            sqlite_where=PENDING_ONLY,
        ),
        Index("ix_outbox_event_id_created_at", "event_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(
        default=None,
        # No foreign key: a delivery outlives its event (migration 0006 says why).
        sa_column=Column(Integer, nullable=True),
    )
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    target: str = Field(sa_column=Column(String(1000), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe_key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    status: str = Field(
        default=DeliveryStatus.PENDING.value,
        sa_column=Column(
            String(8),
            nullable=False,
            default=DeliveryStatus.PENDING.value,
            server_default=DeliveryStatus.PENDING.value,
        ),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
