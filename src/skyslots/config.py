"""The one place settings are read: environment variables prefixed SKYSLOTS_ (and `.env`)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}
SUPPORTED_DATABASES = ("sqlite+aiosqlite:///", "postgresql+asyncpg://")


class Settings(BaseSettings):
    """SkySlots configuration; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="SKYSLOTS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    secret_key: str = ""
    # `skyslots serve`'s port when --port is not given (the image's HEALTHCHECK reads it too).
    port: int = Field(default=8000, ge=1, le=65_535)
    redis_url: str | None = None
    # Realtime: channels are `<prefix>event:<id>` (the prefix lets deployments share a Redis).
    redis_channel_prefix: str = ""
    redis_publish_timeout_seconds: float = Field(default=1.0, gt=0)
    ws_heartbeat_seconds: float = Field(default=20.0, gt=0)
    ws_queue_size: int = Field(default=64, ge=1)
    ws_gap_timeout_seconds: float = Field(default=0.5, gt=0)
    access_token_minutes: int = Field(default=12 * 60, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    # How long `skyslots serve` keeps an idle HTTP connection open. Longer than the proxy's idle
    # timeout (Traefik's is set to 60 s in deploy/) and than clients' (httpx: 5 s), so the
    # client side always closes first and never reuses a connection the server is closing.
    keep_alive_seconds: int = Field(default=75, ge=1, le=3600)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    log_level: str = "INFO"
    # Background jobs (docs/jobs.md): Celery on this broker (default: redis_url); without one,
    # `skyslots serve` runs the same jobs in-process.
    celery_broker_url: str | None = None
    jobs_in_process: bool | None = None  # None: in-process exactly when there is no broker
    outbox_lease_seconds: float = Field(default=120.0, gt=0)
    outbox_max_attempts: int = Field(default=12, ge=1)
    outbox_poll_seconds: float = Field(default=5.0, gt=0)
    # How often due reminders are looked for (a reminder goes out at most this late).
    reminder_poll_seconds: float = Field(default=30.0, gt=0, le=300)
    # Mail: smtp://user:pass@host:port, smtps:// for implicit TLS, ?starttls=true; unset: .eml
    # files under data_dir/outbox-mail.
    smtp_url: str | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "SkySlots <skyslots@localhost>"
    # The site's address. Links in mails always use it; the VATSIM redirect URL only when it is
    # set explicitly (environment or .env), else it follows the request (`public_url_is_set`).
    public_url: str = "http://127.0.0.1:8000"
    # VATSIM Connect sign-in (docs/security.md "VATSIM Connect"): on when the client id is set.
    vatsim_client_id: str | None = None
    vatsim_client_secret: str | None = None
    vatsim_base_url: str = "https://auth.vatsim.net"  # the sandbox: https://auth-dev.vatsim.net
    vatsim_timeout_seconds: float = Field(default=10.0, gt=0)
    # Where Discord webhook posts go (the stored webhook URL's path on this base; tests and
    # proxies change it).
    discord_api_url: str = "https://discord.com"
    # Outbound webhooks (docs/webhooks.md): receivers on private, loopback or link-local
    # addresses are refused unless this is true (a trusted network, or the tests).
    webhooks_allow_private: bool = False
    # Rate limits (docs/security.md): "" for the defaults, "name=5/10seconds,…" to override some,
    # "off" for none (load and race tests).
    rate_limits: str = ""
    # Feature flags (docs/features.md): "waitlist=off,webhooks=on" over the defaults; an admin's
    # toggle in the dashboard wins over both.
    features: str = ""
    # Proxies whose X-Forwarded-For is believed: comma-separated addresses or CIDRs.
    trusted_proxies: str = ""
    # Days after an event ends when its bookings' emails and notes are purged (docs/privacy.md).
    retention_days: int = Field(default=30, ge=1)
    # Generated artifacts (docs/storage.md): S3-compatible storage when an endpoint is set, else
    # a folder under data_dir served by the app at /files/... behind signed, expiring URLs.
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = None  # the endpoint browsers reach (default: the same)
    s3_bucket: str = Field(default="skyslots", min_length=3, max_length=63)
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "us-east-1"
    presign_seconds: int = Field(default=600, ge=1, le=7 * 24 * 3600)
    # Exports (docs/exports.md): how long an attempt owns an export before another worker may
    # take it over, attempts before it fails, and at most one roster image per event this often.
    export_lease_seconds: float = Field(default=300.0, gt=0)
    export_max_attempts: int = Field(default=3, ge=1)
    roster_image_seconds: float = Field(default=60.0, ge=0)
    # Backups (docs/operations.md): `skyslots backup` writes to a folder (default
    # <data dir>/backups) or to the storage above (key backups/<name>), and keeps the newest of
    # each of the last keep_daily days and keep_weekly ISO weeks (and everything under a day).
    backup_target: Literal["folder", "storage"] = "folder"
    backup_dir: Path | None = None
    backup_keep_daily: int = Field(default=7, ge=0)
    backup_keep_weekly: int = Field(default=4, ge=0)
    backup_pg_bin: Path | None = None  # the folder of pg_dump / pg_restore (default: PATH)
    # Observability (docs/operations.md "Observability"): a bearer token /metrics then requires,
    # the port a `skyslots worker` serves its own /metrics on (unset: none), and Sentry.
    metrics_token: str | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    sentry_dsn: str | None = None

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        if url and not url.startswith(SUPPORTED_DATABASES):
            raise ValueError(
                "use postgresql+asyncpg://host/db or sqlite+aiosqlite:///path/to/file.db"
            )
        return url

    @field_validator("backup_dir", "backup_pg_bin", "worker_metrics_port", mode="before")
    @classmethod
    def _unset_when_blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("rate_limits")
    @classmethod
    def _valid_rate_limits(cls, setting: str) -> str:
        from skyslots.ratelimit.policy import rate_limits

        rate_limits(setting)  # ValueError says what is wrong
        return setting

    @field_validator("features")
    @classmethod
    def _valid_features(cls, setting: str) -> str:
        from skyslots.features.flags import parse_features

        parse_features(setting)  # ValueError says what is wrong
        return setting

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, setting: str) -> str:
        for part in filter(None, (p.strip() for p in setting.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"{part!r} is not an address or CIDR (e.g. 172.18.0.0/16)"
                ) from None
        return setting

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.upper() not in logging.getLevelNamesMapping():
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level.upper()

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'skyslots.db').resolve()}"
        if self.redis_url == "":
            self.redis_url = None
        if not self.celery_broker_url:
            self.celery_broker_url = self.redis_url
        if self.smtp_url == "":
            self.smtp_url = None
        for optional in ("metrics_token", "sentry_dsn"):
            if not (getattr(self, optional) or "").strip():
                setattr(self, optional, None)
        for name in ("s3_endpoint_url", "s3_public_endpoint_url"):
            if not getattr(self, name):
                setattr(self, name, None)
        if self.public_url.endswith("/"):  # assigning marks a field as set: only when needed
            self.public_url = self.public_url.rstrip("/")
        self.vatsim_base_url = self.vatsim_base_url.rstrip("/")
        if not self.vatsim_client_id:
            self.vatsim_client_id = None
        elif not self.vatsim_client_secret:
            raise ValueError(
                "SKYSLOTS_VATSIM_CLIENT_SECRET must be set with SKYSLOTS_VATSIM_CLIENT_ID"
            )
        self.discord_api_url = self.discord_api_url.rstrip("/")
        if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            if self.env == "production":
                raise ValueError(
                    "SKYSLOTS_SECRET_KEY must be set to a long random value in production"
                )
            self.secret_key = _embedded_secret(self.data_dir)
        return self

    @property
    def backup_folder(self) -> Path:
        """`skyslots backup`'s folder: SKYSLOTS_BACKUP_DIR, default <data dir>/backups."""
        return self.backup_dir or self.data_dir / "backups"

    @property
    def runs_jobs_in_process(self) -> bool:
        if self.jobs_in_process is not None:
            return self.jobs_in_process
        return self.celery_broker_url is None

    @property
    def public_url_is_set(self) -> bool:
        """Whether SKYSLOTS_PUBLIC_URL was given (not just its default)."""
        return "public_url" in self.model_fields_set

    @property
    def vatsim_enabled(self) -> bool:
        return self.vatsim_client_id is not None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _embedded_secret(data_dir: Path) -> str:
    """A random key kept in the data folder, so sessions survive restarts in embedded mode."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip() or _write_secret(path)
    except FileNotFoundError:
        return _write_secret(path)


def _write_secret(path: Path) -> str:
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
