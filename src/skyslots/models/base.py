"""Shared column helpers and the metadata naming convention every constraint name follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import SQLModel

from skyslots.db import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def utc_column(*, nullable: bool, default: Any = None, **kwargs: Any) -> Any:
    """A timezone-aware UTC datetime column."""
    return Column(UTCDateTime(), nullable=nullable, default=default, **kwargs)


def created_at_column() -> Any:
    return utc_column(nullable=False, default=utcnow)


__all__ = ["SQLModel", "created_at_column", "datetime", "metadata", "utc_column"]
