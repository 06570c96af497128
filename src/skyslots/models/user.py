from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Integer, String
from sqlmodel import Field, SQLModel

from skyslots.db import utcnow
from skyslots.models.base import created_at_column


class Role(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    MEMBER = "member"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'organizer', 'member')", name="role"),)

    id: int | None = Field(default=None, primary_key=True)
    vatsim_id: int | None = Field(default=None, unique=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    role: str = Field(default=Role.MEMBER.value, sa_column=Column(String(16), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    # From VATSIM Connect, refreshed at each sign-in: the controller rating (id and short name).
    rating_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    rating_short: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    # The personal calendar feed's serial: its secret URL is derived from it (an HMAC with the
    # secret key), so nothing secret is stored; a new serial revokes the old URL, null: no feed.
    calendar_feed_serial: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
