"""Export requests and the export as the API shows it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from skyslots.models.export import ExportFormat, ExportStatus


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = Field(description="csv (every booking), pdf (the printable roster) or "
                                 "png (the roster image)")  # fmt: skip


class ExportQueued(BaseModel):
    id: int
    status: ExportStatus


class ExportOut(BaseModel):
    id: int
    event_id: int
    format: ExportFormat
    status: ExportStatus
    progress: int = Field(ge=0, le=100)
    url: str | None = Field(description="a presigned download URL, when done")
    error: str | None
    created_at: datetime
    finished_at: datetime | None
