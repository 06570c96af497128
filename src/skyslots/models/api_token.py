from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column, utc_column


class TokenScope(StrEnum):
    READ = "read"  # GET and HEAD only
    WRITE = "write"  # everything the account may do


class ApiToken(SQLModel, table=True):
    """A personal API token for scripts (`sks_…`): only its sha256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    scope: str = Field(sa_column=Column(String(8), nullable=False))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    last_used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
