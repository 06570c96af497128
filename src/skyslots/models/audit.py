from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column

ACTOR_LENGTH = 120


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_event_id_created_at", "event_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("events.id", ondelete="SET NULL"), nullable=True),
    )
    user_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    actor: str = Field(sa_column=Column(String(ACTOR_LENGTH), nullable=False))
    action_type: str = Field(sa_column=Column(String(64), nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
