"""Settings: defaults for the embedded mode, environment variables, production's refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from skyslots.config import Settings


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defaults are relative to the working folder; keep them (and `.env`) out of the repo."""
    monkeypatch.chdir(tmp_path)


def test_defaults_are_an_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.data_dir == Path("data")
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/data/skyslots.db"
    assert settings.is_sqlite
    assert settings.redis_url is None
    # The generated secret is kept in the data folder, private, and reused.
    secret_file = tmp_path / "data" / "secret_key"
    assert settings.secret_key == secret_file.read_text()
    assert len(settings.secret_key) >= 32
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert Settings().secret_key == settings.secret_key


def test_environment_variables_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSLOTS_DATA_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("SKYSLOTS_REDIS_URL", "")
    monkeypatch.setenv("SKYSLOTS_SECRET_KEY", "a" * 40)
    settings = Settings()
    assert settings.database_url.endswith("/elsewhere/skyslots.db")
    assert settings.redis_url is None
    assert settings.secret_key == "a" * 40
    assert not (tmp_path / "elsewhere").exists()

    monkeypatch.delenv("SKYSLOTS_REDIS_URL")  # the environment wins over .env
    (tmp_path / ".env").write_text(
        "SKYSLOTS_DATABASE_URL=postgresql+asyncpg://db.internal/skyslots\n"
        "SKYSLOTS_REDIS_URL=redis://cache:6379/0\n"
    )
    settings = Settings()
    assert settings.database_url == "postgresql+asyncpg://db.internal/skyslots"
    assert not settings.is_sqlite
    assert settings.redis_url == "redis://cache:6379/0"


@pytest.mark.parametrize("secret", [None, "", "changeme", "  Secret ", "dev"])
def test_production_refuses_a_placeholder_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    monkeypatch.setenv("SKYSLOTS_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("SKYSLOTS_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="SKYSLOTS_SECRET_KEY"):
        Settings()
    assert not (tmp_path / "data").exists()


def test_production_accepts_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSLOTS_ENV", "production")
    monkeypatch.setenv("SKYSLOTS_SECRET_KEY", "k3Jx9_vQ2-long-random-value-from-a-vault")
    assert Settings().secret_key == "k3Jx9_vQ2-long-random-value-from-a-vault"


def test_development_replaces_a_placeholder_secret(tmp_path: Path) -> None:
    settings = Settings(secret_key="changeme")
    assert settings.secret_key != "changeme"
    assert settings.secret_key == (tmp_path / "data" / "secret_key").read_text()


@pytest.mark.parametrize(
    "url", ["postgresql://db/skyslots", "mysql://db/skyslots", "sqlite:///data/x.db", "nonsense"]
)
def test_only_async_postgres_and_sqlite_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValidationError, match="postgresql\\+asyncpg://"):
        Settings(database_url=url)


def test_log_level_is_checked() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError, match="log_level"):
        Settings(log_level="chatty")
