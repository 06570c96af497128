"""The in-process hub: per-event subscriptions with bounded queues, fed without ever blocking.

`LocalHub` is the embedded default (one process, no Redis) and the local half of `RedisHub`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable

from skyslots.metrics import messages_fanned_out
from skyslots.realtime.messages import RESYNC_NOTICE, is_final

log = logging.getLogger(__name__)

# Mailbox items are (kind, version, text, frame): `frame` is the ready ASGI "websocket.send"
# message of a change, built once and shared by every socket, so the fan-out loop stays cheap.
CHANGE, FINAL, PING, RESYNC, REPLY, GAP_CHECK, DROP = range(7)
Frame = dict[str, str]
Item = tuple[int, int, str, Frame | None]
SLOW, SHUTDOWN, GONE = "slow", "shutdown", "gone"  # why a subscription was dropped
FORCE = "force"  # a RESYNC that sends a snapshot even to a socket already at that version


def control(kind: int, text: str = "", version: int = 0) -> Item:
    return (kind, version, text, None)


class Subscription:
    """One socket's view of an event: a bounded mailbox the hub fills and the socket drains.

    (A deque and one waiter future: the same contract as asyncio.Queue, at less cost per item.)
    """

    __slots__ = ("_hub", "_items", "_maxsize", "_waiter", "direct", "dropped", "event_id")

    def __init__(self, hub: LocalHub, event_id: int, maxsize: int) -> None:
        self._hub = hub
        self.event_id = event_id
        self._items: deque[Item] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = False
        # Set by the socket's writer: sends an item on the spot when the writer is idle, as
        # websockets.broadcast does, instead of waking one task per socket per message.
        self.direct: Callable[[Item], bool] | None = None

    def offer(self, item: Item) -> None:
        """Queue `item`; a full mailbox means a slow client: it is dropped, never waited for."""
        if self.dropped:
            return
        if not self._items and self._waiter is not None and self.direct and self.direct(item):
            return
        if len(self._items) >= self._maxsize:
            self.drop()
            return
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Item:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def pending(self) -> int:
        return len(self._items)

    def drop(self, reason: str = SLOW) -> None:
        """Unsubscribe and tell the socket to close: it will reconnect and take a snapshot."""
        if self.dropped:
            return
        self.close()
        self._items.clear()
        self._items.append(control(DROP, reason))
        self.dropped = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self._hub.unsubscribe(self)


class LocalHub:
    """Fans messages out to this process's subscriptions; heartbeats every socket.

    `RedisHub` offers the same `subscribe`, `publish`, `start` and `stop`, so the endpoint and
    the roster publisher work with either.
    """

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
            self.broadcast(control(RESYNC), event_id=event_id)
            return
        try:
            decoded = json.loads(message)
            kind = FINAL if is_final(decoded) else CHANGE
            frame = {"type": "websocket.send", "text": message}
            item: Item = (kind, int(decoded["version"]), message, frame)
        except (ValueError, KeyError, TypeError):
            log.error("dropped a malformed realtime message for event %s", event_id)
            return
        for subscription in tuple(subscribers):
            subscription.offer(item)
        messages_fanned_out(len(subscribers))

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
        self.broadcast(control(RESYNC, FORCE))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.broadcast(control(PING))

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
