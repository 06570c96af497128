"""WebSocket /ws/events/{event_id}: a snapshot, then every committed change, in version order.

A socket holds no database session: snapshots come from short shared reads. Changes a process
receives out of order (two processes publishing close together) are held back briefly and sent
in order; a gap that does not fill in time becomes a fresh snapshot.

The endpoint is a plain ASGI app: fan-out sends the hub's prebuilt "websocket.send" message
straight to the server, skipping a wrapper call per socket and message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from skyslots.metrics import websocket_closed, websocket_opened
from skyslots.realtime.engine import Realtime
from skyslots.realtime.hub import (
    CHANGE,
    DROP,
    FINAL,
    FORCE,
    GAP_CHECK,
    GONE,
    PING,
    REPLY,
    RESYNC,
    SHUTDOWN,
    Item,
    Subscription,
    control,
)
from skyslots.realtime.messages import PING as PING_TEXT
from skyslots.realtime.messages import PONG, encode

router = APIRouter(tags=["realtime"])

CLOSE_NOT_FOUND = 4404  # unknown, draft or deleted event
CLOSE_TOO_SLOW = 1013  # "try again later": the client was too slow; reconnecting gives a snapshot
CLOSE_RESTART = 1012  # the server is shutting down
CLOSE_TOO_BIG = 1009
MAX_CLIENT_MESSAGE = 4096
DISCONNECTED = (WebSocketDisconnect, RuntimeError, OSError)  # a client gone mid-send


def _error(detail: str) -> Item:
    return control(REPLY, encode({"type": "error", "code": "bad_message", "detail": detail}))


def client_reply(text: str | None) -> Item | None:
    """What to do about a client's message: a reply, a resync, or nothing."""
    if text is None:
        return _error("send JSON text frames")
    try:
        message = json.loads(text)
    except ValueError:
        return _error("not JSON")
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        return control(REPLY, PONG)
    if kind == "resync":
        return control(RESYNC, FORCE)
    if kind == "pong":
        return None
    return _error('expected {"type": "ping"}, {"type": "pong"} or {"type": "resync"}')


async def _read_client(websocket: WebSocket, subscription: Subscription) -> None:
    """Answer the client's pings and resync requests; a disconnect ends the writer too."""
    try:
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                return
            text = received.get("text")
            if text is not None and len(text) > MAX_CLIENT_MESSAGE:
                subscription.drop(str(CLOSE_TOO_BIG))
                return
            reply = client_reply(text)
            if reply is not None:
                subscription.offer(reply)
    except DISCONNECTED:
        pass
    finally:
        subscription.drop(GONE)


async def _finish(sending: Coroutine[Any, Any, None], waiting_for: Any) -> None:
    """Drive a coroutine that was started by hand and suspended on a future, to its end.

    This is what asyncio's Task does for every step (and Python 3.12's eager tasks for the
    first): wait for the future the coroutine yielded, then resume it.
    """
    while True:
        waiting_for._asyncio_future_blocking = False  # as Task.__step does before waiting
        await asyncio.wait([waiting_for])
        try:
            waiting_for = sending.send(None)
        except StopIteration:
            return


def _consume_error(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # a failed send ends its socket; no "never retrieved" warning


class _Stream:
    """One socket's writer: sends queued items, keeping versions contiguous."""

    def __init__(
        self,
        websocket: WebSocket,
        send: Send,
        subscription: Subscription,
        realtime: Realtime,
        version: int,
    ) -> None:
        self.websocket = websocket
        self.send = send
        self.subscription = subscription
        self.realtime = realtime
        self.version = version
        self.held: dict[int, Item] = {}
        self.finishing: asyncio.Future[None] | None = None

    def direct(self, item: Item) -> bool:
        """Send an in-order change right now, from the hub's loop; False: queue it instead."""
        kind, version, _, frame = item
        if kind != CHANGE or version != self.version + 1 or self.held or frame is None:
            return False
        if self.finishing is not None and not self.finishing.done():
            return False
        sending = self.send(frame)
        try:
            waiting_for = sending.send(None)
        except StopIteration:
            self.version = version
            return True
        except Exception:
            return False  # the writer meets the same error and ends the socket
        # The server applies back-pressure: let a task finish this send; the writer awaits it.
        self.version = version
        self.finishing = asyncio.ensure_future(_finish(sending, waiting_for))
        self.finishing.add_done_callback(_consume_error)  # the writer may be gone by then
        return True

    async def run(self) -> None:
        get, send = self.subscription.get, self.send
        self.subscription.direct = self.direct
        while True:
            item = await get()
            if self.finishing is not None:
                await self.finishing
                self.finishing = None
            kind, version, text, frame = item
            if kind == CHANGE and version == self.version + 1 and not self.held and frame:
                await send(frame)  # the common case, kept short: it runs once per socket
                self.version = version
            elif kind in (CHANGE, FINAL):
                if not await self._change(item):
                    return
            elif kind == PING:
                await self.websocket.send_text(PING_TEXT)
            elif kind == REPLY:
                await self.websocket.send_text(text)
            elif kind == RESYNC or (kind == GAP_CHECK and self.held and self.version < version):
                if not await self._resync(force=text == FORCE):
                    return
            elif kind == DROP:
                await self._dropped(text)
                return

    async def _change(self, item: Item) -> bool:
        """Send a change in order (or hold it until the gap fills); False once the socket closes."""
        if item[1] <= self.version:
            return True  # already covered by the snapshot or sent
        self.held[item[1]] = item
        return await self._flush()

    async def _flush(self) -> bool:
        while (item := self.held.pop(self.version + 1, None)) is not None:
            kind, self.version, text, _ = item
            await self.websocket.send_text(text)
            if kind == FINAL:
                await self._close(CLOSE_NOT_FOUND, "event deleted or unpublished")
                return False
        if self.held:  # still a gap: give the missing versions a moment, then resync
            check = control(GAP_CHECK, version=self.version + 1)
            loop = asyncio.get_running_loop()
            loop.call_later(self.realtime.gap_timeout, self.subscription.offer, check)
        return True

    async def _resync(self, *, force: bool = False) -> bool:
        """Send a fresh snapshot, unless the socket is already at its version (and did not ask)."""
        snapshot = await self.realtime.snapshots.get(self.subscription.event_id)
        if snapshot is None:
            await self._close(CLOSE_NOT_FOUND, "event not found")
            return False
        if force or snapshot.version > self.version:
            await self.websocket.send_text(snapshot.text)
            self.version = snapshot.version
        self.held = {v: item for v, item in self.held.items() if v > self.version}
        return await self._flush()

    async def _dropped(self, reason: str) -> None:
        if reason == GONE:
            return
        if reason == SHUTDOWN:
            await self._close(CLOSE_RESTART, "server restarting")
        elif reason.isdigit():
            await self._close(int(reason), "message too big")
        else:
            await self._close(CLOSE_TOO_SLOW, "too slow; reconnect for a snapshot")

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(*DISCONNECTED):
            await self.websocket.close(code, reason)


async def event_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """Live roster: a snapshot, then one message per committed change (docs/realtime.md)."""
    websocket = WebSocket(scope, receive, send)
    realtime: Realtime = websocket.app.state.realtime
    event_id: int = scope["path_params"]["event_id"]
    await websocket.accept()
    # Subscribe before reading the snapshot, so no change committed in between is lost.
    subscription = realtime.hub.subscribe(event_id)
    reader: asyncio.Task[None] | None = None
    websocket_opened()
    try:
        snapshot = await realtime.snapshots.get(event_id)
        if snapshot is None:
            await websocket.close(CLOSE_NOT_FOUND, "event not found")
            return
        await websocket.send_text(snapshot.text)
        reader = asyncio.create_task(_read_client(websocket, subscription))
        await _Stream(websocket, send, subscription, realtime, snapshot.version).run()
    except DISCONNECTED:
        pass
    finally:
        websocket_closed()
        subscription.direct = None
        subscription.close()
        if reader is not None:
            reader.cancel()


class _EventSocketApp:
    """Starlette mounts a callable object (not a function) as a raw ASGI app."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await event_socket(scope, receive, send)


router.add_websocket_route("/ws/events/{event_id:int}", _EventSocketApp(), name="event_socket")
