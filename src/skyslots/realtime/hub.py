"""The in-process hub: per-event subscriptions with bounded queues, fed without ever blocking.

`LocalHub` is the embedded default (one process, no Redis) and the local half of `RedisHub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Protocol

from skyslots.realtime.messages import RESYNC_NOTICE, is_final

log = logging.getLogger(__name__)

# Queue items are (kind, version, text); tuples keep the fan-out loop cheap.
CHANGE, FINAL, PING, RESYNC, REPLY, GAP_CHECK, DROP = range(7)
Item = tuple[int, int, str]
SLOW, SHUTDOWN, GONE = "slow", "shutdown", "gone"  # why a subscription was dropped


class Subscription:
    """One socket's view of an event: a bounded queue the hub fills and the socket drains."""

    __slots__ = ("_hub", "dropped", "event_id", "queue")

    def __init__(self, hub: LocalHub, event_id: int, maxsize: int) -> None:
        self._hub = hub
        self.event_id = event_id
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize)
        self.dropped = False

    def offer(self, item: Item) -> None:
        """Queue `item`; a full queue means a slow client: it is dropped, never waited for."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.drop()

    def drop(self, reason: str = SLOW) -> None:
        """Unsubscribe and tell the socket to close: it will reconnect and take a snapshot."""
        if self.dropped:
            return
        self.dropped = True
        self.close()
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait((DROP, 0, reason))

    def close(self) -> None:
        self._hub.unsubscribe(self)


class Broadcaster(Protocol):
    """What the WebSocket endpoint and the roster publisher need; LocalHub and RedisHub have it."""

    def subscribe(self, event_id: int) -> Subscription: ...

    async def publish(self, event_id: int, message: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalHub:
    """Fans messages out to this process's subscriptions; heartbeats every socket."""

    def __init__(self, *, queue_size: int, heartbeat_seconds: float) -> None:
        self.queue_size = queue_size
        self.heartbeat_seconds = heartbeat_seconds
        self._subscriptions: dict[int, set[Subscription]] = {}
        self._heartbeat: asyncio.Task[None] | None = None

    def subscribe(self, event_id: int) -> Subscription:
        subscription = Subscription(self, event_id, self.queue_size)
        self._subscriptions.setdefault(event_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscriptions.get(subscription.event_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscriptions[subscription.event_id]

    @property
    def local(self) -> LocalHub:
        return self

    def subscriber_count(self, event_id: int | None = None) -> int:
        if event_id is not None:
            return len(self._subscriptions.get(event_id, ()))
        return sum(len(s) for s in self._subscriptions.values())

    async def publish(self, event_id: int, message: str) -> None:
        self.deliver(event_id, message)

    def deliver(self, event_id: int, message: str) -> None:
        """Hand an encoded message to every subscriber of its event (a malformed one is logged)."""
        subscribers = self._subscriptions.get(event_id)
        if not subscribers:
            return
        if message == RESYNC_NOTICE:
            self.broadcast((RESYNC, 0, ""), event_id=event_id)
            return
        try:
            decoded = json.loads(message)
            item: Item = (FINAL if is_final(decoded) else CHANGE, int(decoded["version"]), message)
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed realtime message for event %s", event_id)
            return
        for subscription in tuple(subscribers):
            subscription.offer(item)

    def broadcast(self, item: Item, *, event_id: int | None = None) -> None:
        """Offer a control item (PING, RESYNC) to one event's subscribers, or to everyone."""
        if event_id is not None:
            groups = [self._subscriptions.get(event_id, set())]
        else:
            groups = list(self._subscriptions.values())
        for subscribers in groups:
            for subscription in tuple(subscribers):
                subscription.offer(item)

    def resync_all(self) -> None:
        """Every socket gets a fresh snapshot (after a Redis outage, say)."""
        self.broadcast((RESYNC, 0, ""))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.broadcast((PING, 0, ""))

    async def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="skyslots-heartbeat")

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for subscribers in list(self._subscriptions.values()):
            for subscription in tuple(subscribers):
                subscription.drop(SHUTDOWN)
