from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import utc_column

FLAG_NAME_LENGTH = 40


class FeatureFlag(SQLModel, table=True):
    """An admin's explicit toggle of a feature flag; no row: SKYSLOTS_FEATURES or the default."""

    __tablename__ = "feature_flags"

    name: str = Field(sa_column=Column(String(FLAG_NAME_LENGTH), primary_key=True))
    enabled: bool = Field(sa_column=Column(Boolean, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    updated_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
