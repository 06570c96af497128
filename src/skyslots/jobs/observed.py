"""The Celery processes' logs, metrics and heartbeat, through Celery's signals.

- `setup_logging`: JSON lines like the app's (Celery then configures no logging of its own);
  each task's lines carry its name and id.
- task_prerun / task_postrun / task_failure: skyslots_task_duration_seconds and
  skyslots_task_failures_total, by task name.
- worker_ready (the worker's main process): the metrics port (SKYSLOTS_WORKER_METRICS_PORT) and
  the heartbeat thread; worker_process_shutdown: the pool process leaves the live sums.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from celery.signals import (
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from skyslots import metrics
from skyslots.config import get_settings
from skyslots.jobs.heartbeat import WorkerHeartbeat
from skyslots.logs import configure_logging
from skyslots.metrics.multiproc import mark_dead

log = logging.getLogger(__name__)
_started: dict[str, float] = {}
_failed: set[str] = set()
_heartbeat: WorkerHeartbeat | None = None


@setup_logging.connect
def _logging(loglevel: int | str | None = None, **_: Any) -> None:
    """SKYSLOTS_LOG_LEVEL for SkySlots' lines; Celery's --loglevel (default WARNING) for its."""
    configure_logging(get_settings().log_level)
    if loglevel:
        logging.getLogger("celery").setLevel(loglevel)


@task_prerun.connect
def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    _started[task_id] = time.perf_counter()
    structlog.contextvars.bind_contextvars(task=getattr(task, "name", "?"), task_id=task_id)


@task_failure.connect
def _task_failed(task_id: str = "", **_: Any) -> None:
    _failed.add(task_id)


@task_postrun.connect
def _task_finished(task_id: str = "", task: Any = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    failed = task_id in _failed
    _failed.discard(task_id)
    if started is not None:
        seconds = time.perf_counter() - started
        metrics.task_finished(getattr(task, "name", "?"), seconds, failed=failed)
    structlog.contextvars.unbind_contextvars("task", "task_id")


def _metrics_app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """prometheus-client's WSGI app over every pool process's files, behind the metrics token."""
    import hmac

    from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess

    from skyslots.metrics.multiproc import forget_dead_processes

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    serve = make_wsgi_app(registry)
    token = get_settings().metrics_token

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if token is not None:
            given = str(environ.get("HTTP_AUTHORIZATION", ""))
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
                return [b"/metrics needs its bearer token\n"]
        forget_dead_processes()
        metrics.metrics()
        result: Iterable[bytes] = serve(environ, start_response)
        return result

    return app


def _serve_metrics(port: int) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:  # Prometheus scrapes every 15 s
            pass

    server = make_server("0.0.0.0", port, _metrics_app(), Server, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="skyslots-metrics", daemon=True)
    thread.start()
    log.info("worker metrics on port %d at /metrics", port)


@worker_ready.connect
def _worker_ready(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    settings = get_settings()
    if settings.worker_metrics_port is not None:
        try:
            _serve_metrics(settings.worker_metrics_port)
        except OSError as exc:
            log.error("worker metrics port %d: %s", settings.worker_metrics_port, exc)
    _heartbeat = WorkerHeartbeat(settings, hostname=str(getattr(sender, "hostname", "worker")))
    _heartbeat.start()


@worker_shutdown.connect
def _worker_shutdown(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()


@worker_process_shutdown.connect
def _pool_process_shutdown(**_: Any) -> None:
    mark_dead()
