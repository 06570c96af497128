"""Backup names carry the engine and the time: `skyslots-<kind>-<UTC time>.<ext>`, e.g.
`skyslots-postgresql-20261203T120000Z.dump`. Retention only ever deletes names of this shape.

A file's kind is read from its first bytes, never from its name: a custom-format pg_dump archive
starts with `PGDMP`, a SQLite database with `SQLite format 3\\0`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Kind = Literal["postgresql", "sqlite"]
EXTENSIONS: dict[Kind, str] = {"postgresql": "dump", "sqlite": "sqlite3"}
MAGIC: dict[Kind, bytes] = {"postgresql": b"PGDMP", "sqlite": b"SQLite format 3\x00"}
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
NAME = re.compile(
    r"skyslots-(?P<kind>postgresql|sqlite)-(?P<time>\d{8}T\d{6}Z)\.(?P<ext>dump|sqlite3)"
)


@dataclass(frozen=True)
class BackupName:
    name: str
    kind: Kind
    taken_at: datetime


def backup_name(kind: Kind, taken_at: datetime) -> str:
    """The name of a backup of a `kind` database taken at `taken_at`."""
    return f"skyslots-{kind}-{taken_at.astimezone(UTC).strftime(TIME_FORMAT)}.{EXTENSIONS[kind]}"


def parse_name(name: str) -> BackupName | None:
    """The kind and time a backup's name says, or None for any other name."""
    found = NAME.fullmatch(name)
    if not found:
        return None
    kind: Kind = "postgresql" if found["kind"] == "postgresql" else "sqlite"
    if found["ext"] != EXTENSIONS[kind]:
        return None
    try:
        taken_at = datetime.strptime(found["time"], TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:  # 20261399T...: the shape, not a time
        return None
    return BackupName(name=name, kind=kind, taken_at=taken_at)


def kind_of_file(path: Path) -> Kind | None:
    """What a file holds by its first bytes: a pg_dump archive, a SQLite database, or neither."""
    with path.open("rb") as file:
        head = file.read(16)
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


KIND_WORDS: dict[Kind, str] = {
    "postgresql": "a PostgreSQL dump (pg_dump custom format)",
    "sqlite": "a SQLite database",
}
