from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column

ENABLED_ONLY = text("disabled_at IS NULL")


class WebhookEndpoint(SQLModel, table=True):
    """An organizer's receiver (n8n and friends) for some of an event's changes, signed per the
    Standard Webhooks spec with `secret` (`whsec_` + base64), which is kept to sign with."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        # The claim's slot context asks EXISTS(an enabled endpoint of the event) on every claim.
        Index(
            "ix_webhook_endpoints_event_id_enabled",
            "event_id",
            postgresql_where=ENABLED_ONLY,
            sqlite_where=ENABLED_ONLY,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret: str = Field(sa_column=Column(String(100), nullable=False))
    include_email: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=text("false")),
    )
    disabled_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    disabled_reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
