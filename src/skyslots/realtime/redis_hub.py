"""The Redis hub: publish to `<prefix>event:<id>`, one pattern subscription per process.

Publishing never raises and never waits: a change joins this process's outgoing queue, which one
task sends to Redis in order, many at a time. A send bounded by the publish timeout that fails
(Redis down or hung) hands its changes to this process's own sockets instead. The timeout is
wall-clock time on a busy event loop too, which is why no booking waits for it: under a rush the
loop lags, and a booking-bound timeout short enough not to slow bookings tripped on the lag alone.
The subscriber reconnects with back-off, and after every reconnect each socket gets a fresh
snapshot, so a change published while Redis was away is never silently missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from skyslots.realtime.hub import LocalHub, Subscription
from skyslots.realtime.messages import RESYNC_NOTICE

log = logging.getLogger(__name__)

MIN_BACKOFF, MAX_BACKOFF = 0.1, 5.0
IDLE_PING_SECONDS = 5.0  # a quiet subscription pings Redis to notice a half-open connection
START_WAIT_SECONDS = 2.0
BREAKER_SECONDS = 1.0  # after a failed publish, skip Redis this long (a hung Redis stays cheap)
SEND_BATCH = 200  # changes per round trip at most
OUTGOING_LIMIT = 10_000  # changes waiting for Redis; past it they go to this process's sockets only


class RedisHub:
    """A LocalHub fed by Redis pub/sub, so every process sees every committed change."""

    def __init__(
        self,
        *,
        url: str,
        channel_prefix: str,
        publish_timeout: float,
        queue_size: int,
        heartbeat_seconds: float,
    ) -> None:
        self.local = LocalHub(queue_size=queue_size, heartbeat_seconds=heartbeat_seconds)
        self.prefix = f"{channel_prefix}event:"
        self.publish_timeout = publish_timeout
        self._publisher = Redis.from_url(
            url,
            socket_connect_timeout=publish_timeout,
            socket_timeout=publish_timeout,
            # One immediate retry replaces a pooled connection that died with a restarted Redis.
            retry=Retry(NoBackoff(), 1),
        )
        self._subscriber = Redis.from_url(
            url,
            socket_connect_timeout=START_WAIT_SECONDS,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),  # the listen loop has its own back-off
        )
        self._subscribed = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self._publish_paused_until = 0.0
        self._was_down = False
        self._unsent: set[int] = set()  # events with a change Redis never got
        self._outgoing: asyncio.Queue[tuple[int, str]] = asyncio.Queue(OUTGOING_LIMIT)
        self._sender: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set()

    def subscribe(self, event_id: int) -> Subscription:
        return self.local.subscribe(event_id)

    async def publish(self, event_id: int, message: str) -> None:
        if self._outgoing.full():
            self._missed([(event_id, message)])
        else:  # in order behind the others, even while Redis is skipped (the sender knows)
            self._outgoing.put_nowait((event_id, message))

    def _missed(self, changes: list[tuple[int, str]]) -> None:
        """Changes Redis did not take: at least this process's sockets learn them now; every
        process's sockets on their events get a snapshot once Redis is back (_send_resyncs)."""
        for event_id, message in changes:
            self._unsent.add(event_id)
            self.local.deliver(event_id, message)

    async def _send_outgoing(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < SEND_BATCH and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                if time.monotonic() < self._publish_paused_until or not await self._send(batch):
                    self._missed(batch)
                elif self._unsent:
                    await self._send_resyncs()
            except Exception:  # the sender must outlive any one batch
                log.exception("realtime publisher: a batch of %d changes failed", len(batch))
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def _send(self, changes: list[tuple[int, str]]) -> bool:
        try:
            pipeline = self._publisher.pipeline(transaction=False)
            for event_id, message in changes:
                pipeline.publish(f"{self.prefix}{event_id}", message)
            await asyncio.wait_for(pipeline.execute(), self.publish_timeout)
            return True
        except Exception as exc:  # never fail the change that triggered it
            self._publish_paused_until = time.monotonic() + BREAKER_SECONDS
            log.warning("realtime publish to Redis failed: %s", _describe(exc))
            return False

    async def _send_resyncs(self) -> None:
        """Tell every process's sockets on events whose change could not be published to resync."""
        for event_id in list(self._unsent):
            self._unsent.discard(event_id)
            if not await self._send([(event_id, RESYNC_NOTICE)]):
                self._unsent.add(event_id)
                return

    def _on_message(self, message: dict[str, Any]) -> None:
        channel, data = message["channel"].decode(), message["data"]
        try:
            event_id = int(channel[len(self.prefix) :])
        except ValueError:
            return
        self.local.deliver(event_id, data.decode() if isinstance(data, bytes) else data)

    async def _listen_once(self) -> None:
        pubsub = self._subscriber.pubsub()
        try:
            await pubsub.psubscribe(f"{self.prefix}*")
            last_heard = time.monotonic()
            while True:
                message = await pubsub.get_message(timeout=IDLE_PING_SECONDS)
                now = time.monotonic()
                if message is None:
                    if now - last_heard > 3 * IDLE_PING_SECONDS:
                        raise ConnectionError("Redis stopped answering pings")
                    await pubsub.ping()
                    continue
                last_heard = now
                kind = message["type"]
                if kind == "pmessage":
                    self._on_message(message)
                elif kind == "psubscribe":
                    # From here on every publish reaches us: snapshots taken now miss nothing.
                    was_down = self._was_down
                    self._subscribed.set()
                    if was_down:
                        log.warning("realtime subscriber reconnected to Redis; resyncing sockets")
                        self.local.resync_all()
                        self._publish_paused_until = 0.0
                    if self._unsent:
                        await self._send_resyncs()
        finally:
            self._subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _listen(self) -> None:
        delay = MIN_BACKOFF
        while True:
            started = time.monotonic()
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("realtime subscriber lost Redis: %s", _describe(exc))
            self._was_down = True
            if time.monotonic() - started > MAX_BACKOFF:
                delay = MIN_BACKOFF  # it had been working: retry soon
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def start(self) -> None:
        await self.local.start()
        self._sender = asyncio.create_task(self._send_outgoing(), name="skyslots-redis-publisher")
        self._listener = asyncio.create_task(self._listen(), name="skyslots-redis-subscriber")
        try:
            await asyncio.wait_for(self._subscribed.wait(), START_WAIT_SECONDS)
        except TimeoutError:
            log.warning("Redis is not reachable yet; realtime updates resume when it is")

    async def stop(self) -> None:
        if self._sender is not None:  # what is queued goes out first (a failed send is quick)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), 2 * self.publish_timeout + 1)
        for task in (self._sender, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.local.stop()
        for client in (self._publisher, self._subscriber):
            with contextlib.suppress(Exception):
                await client.aclose()


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
