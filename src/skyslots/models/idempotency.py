from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from skyslots.models.base import created_at_column, utc_column


class IdempotencyKey(SQLModel, table=True):
    """A client's Idempotency-Key on a write: the request it named (by fingerprint) and, once it
    ran, the response to replay for 24 h (docs/security.md)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("key", "path"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), nullable=False))
    path: str = Field(sa_column=Column(String(300), nullable=False))  # method and path
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    # None while the first request runs (until `locked_until`; then a retry may take it over).
    response_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_type: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    locked_until: datetime = Field(sa_column=utc_column(nullable=False))
    expires_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    created_at: datetime = Field(sa_column=created_at_column())
