"""Running the Alembic migrations from code (the CLI and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "skyslots:migrations")
    config.attributes["database_url"] = database_url
    return config


def ensure_sqlite_folder(database_url: str) -> None:
    """Create the folder of a SQLite file database so a fresh checkout just works."""
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix) and ":memory:" not in database_url:
        Path(database_url.removeprefix(prefix)).parent.mkdir(parents=True, exist_ok=True)


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest)."""
    ensure_sqlite_folder(database_url)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    """The newest migration's revision id (what `migrate` upgrades to)."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head
