"""Realtime test tools: the app served by uvicorn inside the test loop, WebSocket helpers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from skyslots.app import create_app
from skyslots.config import Settings
from tests.conftest import empty_tables
from tests.servers import free_port

Message = dict[str, Any]


@dataclass(frozen=True)
class LiveApp:
    app: FastAPI
    base_url: str

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def events_ws(self, event_id: int) -> str:
        return f"{self.ws_url}/ws/events/{event_id}"


@asynccontextmanager
async def live_app(settings: Settings) -> AsyncIterator[LiveApp]:
    """The app on a real socket (uvicorn in this event loop), configured as `skyslots serve`."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_ping_interval=settings.ws_heartbeat_seconds,
        ws_ping_timeout=settings.ws_heartbeat_seconds,
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    await empty_tables(app.state.database)
    try:
        yield LiveApp(app=app, base_url=f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def ws_connect(url: str, **kwargs: Any) -> connect:
    return connect(url, compression=None, open_timeout=5, close_timeout=1, **kwargs)


async def recv_json(ws: ClientConnection, within: float = 2.0) -> Message:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


async def recv_until(
    ws: ClientConnection, wanted: Callable[[Message], bool], within: float = 2.0
) -> Message:
    """The first message `wanted` accepts (pings and others are skipped)."""
    deadline = time.monotonic() + within
    while True:
        message = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if wanted(message):
            return message


def of_type(kind: str) -> Callable[[Message], bool]:
    return lambda message: message.get("type") == kind


async def wait_until(check: Callable[[], bool], within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
