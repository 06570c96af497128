"""Which guard refused a write: the unique index or constraint named in an IntegrityError."""

from __future__ import annotations

import re

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from skyslots.models import metadata

# SQLite names an expression index but lists a plain index's columns: "bookings.slot_id, ...".
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<cols>.+))")


def _by_columns(table: str, columns: tuple[str, ...]) -> str | None:
    candidates = [
        *metadata.tables[table].indexes,
        *metadata.tables[table].constraints,
    ]
    for candidate in candidates:
        unique = isinstance(candidate, UniqueConstraint) or (
            isinstance(candidate, Index) and candidate.unique
        )
        if unique and tuple(c.name for c in candidate.columns) == columns:  # type: ignore[union-attr]
            return str(candidate.name)
    return None


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique index or constraint that refused the statement, if one did."""
    cause = getattr(error.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)  # asyncpg
    if name:
        return str(name)
    match = _SQLITE_UNIQUE.search(str(error.orig))
    if match is None:
        return None
    if match["index"]:
        return match["index"]
    qualified = [part.strip().split(".", 1) for part in match["cols"].split(",")]
    tables = {table for table, _ in qualified}
    if len(tables) != 1 or next(iter(tables)) not in metadata.tables:
        return None
    return _by_columns(next(iter(tables)), tuple(column for _, column in qualified))
