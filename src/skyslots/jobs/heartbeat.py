"""The worker heartbeat that /health/ready looks for.

A Celery worker sets a Redis key that lives FRESH_SECONDS, every BEAT_SECONDS (from a thread of
its main process): while the key exists, a worker beat within the last minute, and the clocks of
the two machines do not matter. The in-process job loop (no broker) records its own last round.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from skyslots.config import Settings

log = logging.getLogger(__name__)
BEAT_SECONDS = 15.0
FRESH_SECONDS = 60


def redis_url(settings: Settings) -> str | None:
    """Where the heartbeat lives: SKYSLOTS_REDIS_URL, else a Redis broker."""
    if settings.redis_url:
        return settings.redis_url
    broker = settings.celery_broker_url or ""
    return broker if broker.startswith(("redis://", "rediss://", "unix://")) else None


def key(settings: Settings) -> str:
    return f"{settings.redis_channel_prefix}skyslots:worker-heartbeat"


class _LocalBeat:
    """The in-process job loop's last round in this process (time.monotonic)."""

    last: float | None = None

    def beat(self) -> None:
        self.last = time.monotonic()

    def age(self) -> float | None:
        return None if self.last is None else time.monotonic() - self.last


in_process = _LocalBeat()


class WorkerHeartbeat:
    """A daemon thread that keeps the heartbeat key alive while this worker runs."""

    def __init__(self, settings: Settings, hostname: str) -> None:
        self.url = redis_url(settings)
        self.key = key(settings)
        self.hostname = hostname
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.url is None:
            log.warning("no Redis for the worker heartbeat: /health/ready cannot see this worker")
            return
        self._thread = threading.Thread(target=self._run, name="skyslots-heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import redis

        client: Any = redis.Redis.from_url(
            str(self.url), socket_timeout=5, socket_connect_timeout=5
        )
        try:
            while not self._stop.is_set():
                try:
                    client.set(self.key, f"{time.time():.0f} {self.hostname}", ex=FRESH_SECONDS)
                except redis.RedisError as exc:
                    log.warning("worker heartbeat not written (%s)", type(exc).__name__)
                self._stop.wait(BEAT_SECONDS)
        finally:
            client.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
