from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class ExportFormat(StrEnum):
    CSV = "csv"
    PDF = "pdf"
    PNG = "png"


class ExportStatus(StrEnum):
    """queued (due at next_attempt_at), running (leased until next_attempt_at), done, failed."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE_ONLY = text("status IN ('queued', 'running')")
# One queued or running export per event and format: two requests racing for the same export
# get the same row (the second insert does nothing and reads the first).
ACTIVE_EXPORT = "uq_exports_active_format"


class Export(SQLModel, table=True):
    """An organizer's export (or the roster image): a background job whose result is an object in
    storage. The row is the job's truth: a lost queue message or a dead worker only delays it."""

    __tablename__ = "exports"
    __table_args__ = (
        CheckConstraint("format IN ('csv', 'pdf', 'png')", name="format"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index(
            ACTIVE_EXPORT,
            "event_id",
            "format",
            unique=True,
            postgresql_where=ACTIVE_ONLY,
            sqlite_where=ACTIVE_ONLY,
        ),
        Index(
            "ix_exports_next_attempt_at",
            "next_attempt_at",
            postgresql_where=ACTIVE_ONLY,
            sqlite_where=ACTIVE_ONLY,
        ),
        Index("ix_exports_event_id_created_at", "event_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    )
    format: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(
        default=ExportStatus.QUEUED.value,
        sa_column=Column(String(8), nullable=False, server_default=ExportStatus.QUEUED.value),
    )
    progress: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0")
    )
    object_key: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # None: the system's own (the debounced roster image).
    requested_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    # The event's roster version the result shows (set when it is generated).
    roster_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    attempts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0")
    )
    # queued: not before; running: the lease's end (a worker that died is noticed then).
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    started_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
