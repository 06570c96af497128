"""The privacy tests' tools: a full-database search, a snapshot of every row, and an account with
a name and email of its own."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from sqlalchemy import Text, cast, inspect, select

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.service import user_create
from skyslots.db import Database
from skyslots.models import Role, metadata
from tests.helpers import PASSWORD, Account

Rows = dict[str, list[tuple[str | None, ...]]]


async def every_row(db: Database) -> Rows:
    """Every row of every table in `skyslots.models.metadata`, each column cast to text by the
    database (JSON columns included), sorted: a snapshot to compare and to search."""
    snapshot: Rows = {}
    async with db.engine.connect() as connection:
        stored = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        # Nothing escapes the search: the database holds no table the models do not know.
        assert stored - {"alembic_version"} == set(metadata.tables), stored
        for table in metadata.sorted_tables:
            rows = await connection.execute(select(*(cast(c, Text) for c in table.c)))
            snapshot[table.name] = sorted(tuple(row) for row in rows)
    return snapshot


def occurrences(rows: Rows, needle: str) -> list[str]:
    """Where `needle` (case-insensitive) occurs: `table: row`."""
    lowered = needle.lower()
    return [
        f"{table}: {row}"
        for table, table_rows in rows.items()
        for row in table_rows
        if any(lowered in (value or "").lower() for value in row)
    ]


async def assert_nowhere(db: Database, *needles: str) -> None:
    """A full-database search: no table, row or column holds any of `needles`."""
    rows = await every_row(db)
    found = {needle: occurrences(rows, needle) for needle in needles}
    assert not any(found.values()), found


async def assert_somewhere(db: Database, needle: str) -> None:
    """The control: the search does find what is there."""
    assert occurrences(await every_row(db), needle), f"{needle!r} is not stored at all"


@dataclass(frozen=True)
class Person:
    account: Account
    name: str

    @property
    def email(self) -> str:
        return self.account.email


async def make_person(
    db: Database, client: httpx.AsyncClient, *, role: Role = Role.MEMBER, name: str = ""
) -> Person:
    """A signed-in account with a name and an email found nowhere else in the database."""
    tag = secrets.token_hex(4)
    name = name or f"Zelda Quoxt {tag}"
    email = f"zelda.{tag}@privacy.example"
    user = await db.transaction(
        user_create, data=UserCreate(email=email, name=name, role=role, password=PASSWORD)
    )
    response = await client.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    account = Account(id=user.id, email=email, headers={"Authorization": f"Bearer {token}"})
    return Person(account=account, name=name)


async def settled_rows(db: Database) -> Rows:
    """`every_row` without the exports table, which the in-process roster-image job updates in
    the background (its progress moves on its own): for "nothing changed" comparisons."""
    rows = await every_row(db)
    rows.pop("exports")
    return rows
