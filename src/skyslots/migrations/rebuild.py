"""For migrations: SQLite rebuilds a table to change a constraint, and the rebuild cannot carry
partial or expression indexes. Set the table's indexes aside first and recreate them after."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations


def _set_indexes_aside(table: str) -> list[str]:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return []
    rows = bind.execute(
        sa.text(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = :table AND sql IS NOT NULL"
        ),
        {"table": table},
    ).all()
    for name, _ in rows:
        op.drop_index(name, table_name=table)
    return [sql for _, sql in rows]


def rebuild_keeping_indexes(table: str, change: Callable[[BatchOperations], None]) -> None:
    """Run `change` in a batch on `table`; on SQLite its indexes survive the rebuild."""
    recreate = _set_indexes_aside(table)
    with op.batch_alter_table(table) as batch:
        change(batch)
    for sql in recreate:
        op.execute(sql)
