"""The `skyslots` command: serve, migrate, users create, demo, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.service import user_create
from skyslots.backups import BackupError
from skyslots.config import Settings, get_settings
from skyslots.db import Database
from skyslots.demo import demo_seed
from skyslots.errors import SkySlotsError
from skyslots.logs import configure_logging
from skyslots.metrics import multiproc
from skyslots.migrate import migrate
from skyslots.models import Role
from skyslots.sentry import init_sentry

T = TypeVar("T")

MISSING_TABLE = re.compile(r"no such table|relation \S+ does not exist")


class CommandError(Exception):
    """A failure worth one line to the user."""


def _run_in_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def runner() -> T:
        database = Database(settings)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(runner())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    migrate(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    port = settings.port if args.port is None else args.port
    if not args.no_migrate:
        migrate(settings.database_url)
    # Before uvicorn starts its worker processes (and any of them imports prometheus-client):
    # their metrics go to one fresh folder, so /metrics on any of them shows them all.
    metrics_folder = multiproc.prepare(settings.data_dir, "serve")
    print(f"SkySlots on http://{args.host}:{port} (API docs at /docs)", flush=True)
    if args.workers > 1 and not settings.redis_url:
        print(
            "skyslots: warning: live updates reach only the sockets of the worker that made the"
            " change; set SKYSLOTS_REDIS_URL to share them between --workers",
            file=sys.stderr,
            flush=True,
        )
    try:
        _serve(uvicorn, args, settings, port)
    finally:
        multiproc.remove(metrics_folder)


def _serve(uvicorn: Any, args: argparse.Namespace, settings: Settings, port: int) -> None:
    uvicorn.run(
        "skyslots.app:create_app",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        # Our JSON logging for uvicorn's loggers too (set up by create_app in each process);
        # its access log stays off: the app writes one line per request with its request id.
        log_config=None,
        log_level=_supervisor_log_level(settings.log_level),
        access_log=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        proxy_headers=False,  # the app reads X-Forwarded-For from SKYSLOTS_TRUSTED_PROXIES only
        # Protocol-level pings find dead WebSocket clients; deflate would compress every
        # broadcast once per socket.
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        ws_per_message_deflate=False,
    )


def _supervisor_log_level(level: str) -> int:
    """uvicorn sets this level in this process only; each server process sets SKYSLOTS_LOG_LEVEL
    again in create_app. With --workers N this process is the supervisor, whose few lines
    ("Child process [pid] died": a worker crashed or hung and was replaced, dropping its open
    connections) are worth seeing at any level."""
    return min(logging.getLevelName(level.upper()), logging.INFO)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    """Celery's worker with SkySlots' tasks; options after `worker` go to Celery unchanged."""
    _broker_needed(settings)
    folder = multiproc.prepare(settings.data_dir, "worker")  # before the pool forks
    try:
        _celery(settings, ["worker", *args.celery_args], component="worker")
    finally:
        multiproc.remove(folder)


def cmd_beat(args: argparse.Namespace, settings: Settings) -> None:
    """Celery beat with SkySlots' schedule (outbox relay, hold sweep)."""
    _broker_needed(settings)
    _celery(settings, ["beat", *args.celery_args], component="beat")


def _broker_needed(settings: Settings) -> None:
    if not settings.celery_broker_url:
        raise ValueError(
            "set SKYSLOTS_REDIS_URL or SKYSLOTS_CELERY_BROKER_URL; without a broker,"
            " `skyslots serve` runs the jobs in-process"
        )


def _celery(settings: Settings, argv: list[str], *, component: str) -> None:
    init_sentry(settings, component=component)
    import skyslots.jobs.tasks  # noqa: F401  (registers the tasks)
    from skyslots.jobs.celery_app import celery

    celery.start(argv)


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> None:
    password = args.password or secrets.token_urlsafe(12)
    data = UserCreate(email=args.email, name=args.name, role=Role(args.role), password=password)
    user = _run_in_database(settings, lambda db: db.transaction(user_create, data=data))
    print(f"created {user.role} {user.email} (id {user.id})")
    if not args.password:
        print(f"password: {password}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    migrate(settings.database_url)
    result = _run_in_database(settings, lambda db: db.transaction(demo_seed))
    print(f"demo event: http://127.0.0.1:8000/events/{result.event_id}")
    print(f"organizer login: {result.email} / {result.password}")


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from skyslots.backups.service import backup_run, backups_list

    configure_logging(settings.log_level)
    if args.list:
        for stored in asyncio.run(backups_list(settings)):
            print(f"{stored.name}\t{stored.size}")
        return
    result = asyncio.run(backup_run(settings))
    print(f"backup written: {result.location} ({result.size} bytes)")
    for name in result.deleted:
        print(f"retention: deleted {name}")


def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    from skyslots.backups.service import restore_run

    configure_logging(settings.log_level)
    result = asyncio.run(restore_run(settings, args.source, force=args.force))
    if result.dropped:
        print(f"--force: dropped what the database held ({len(result.dropped)} objects)")
    print(
        f"restored {result.source} into {_safe_url(settings.database_url)}"
        f" (schema revision {result.revision or 'unknown'}; `skyslots migrate` brings it up to"
        " date)"
    )


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _int_between(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skyslots", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the web server (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=_int_between(1, 65_535), help="default: SKYSLOTS_PORT, else 8000"
    )
    serve.add_argument(
        "--workers", type=_int_between(1, 256), default=1, help="number of server processes"
    )
    serve.add_argument("--no-migrate", action="store_true", help="skip running migrations")
    serve.set_defaults(handler=cmd_serve)

    for name, handler, text in (
        ("worker", cmd_worker, "run a Celery worker for the background jobs"),
        ("beat", cmd_beat, "run Celery beat: the periodic jobs' schedule"),
    ):
        job = commands.add_parser(name, help=text, description=f"{text}; options go to Celery")
        job.set_defaults(handler=handler, celery_pass_through=True)

    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(
        handler=cmd_migrate
    )

    users = commands.add_parser("users", help="manage accounts").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.MEMBER.value)
    create.add_argument("--password", help="omit to generate one")
    create.set_defaults(handler=cmd_users_create)

    commands.add_parser(
        "demo", help="create a demo organizer and a published EGLL event"
    ).set_defaults(handler=cmd_demo)

    backup = commands.add_parser(
        "backup",
        help="back the database up (to SKYSLOTS_BACKUP_TARGET) and prune old backups",
    )
    backup.add_argument("--list", action="store_true", help="list the backups instead")
    backup.set_defaults(handler=cmd_backup)
    restore = commands.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("source", help="a backup file, or a backup's name or storage key")
    restore.add_argument(
        "--force", action="store_true", help="drop everything in a non-empty database first"
    )
    restore.set_defaults(handler=cmd_restore)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
        )
    if isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        hint = "; run `skyslots migrate` first" if MISSING_TABLE.search(reason) else ""
        return f"database error: {reason}{hint}"
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "celery_pass_through", False):
        args.celery_args = extra  # `skyslots worker --concurrency 2`: Celery's own options
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = get_settings()
        configure_logging(settings.log_level)  # JSON lines, for uvicorn's and Celery's too
        args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except (
        SkySlotsError,
        BackupError,
        ValidationError,
        SQLAlchemyError,
        OSError,
        ValueError,
    ) as exc:
        print(f"skyslots: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0
