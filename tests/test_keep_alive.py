"""Keep-alive: `skyslots serve` keeps an idle connection SKYSLOTS_KEEP_ALIVE_SECONDS (75) open,
longer than its proxy's idle timeout (Traefik in deploy/: 60 s) and clients' (httpx: 5 s), so
the other side always closes first and never sends a request on a connection the server is
closing (a ReadError for a client, a 502 behind a proxy). uvicorn's own default is 5 s.
One raw HTTP/1.1 connection, idle between two requests; the control is a short setting
(SQLite only: the HTTP layer is the same on both engines)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from tests.servers import start_server


async def idle_then_reuse(base_url: str, idle_seconds: float) -> bytes:
    """GET /health, stay idle, GET /health again on the same connection; what the second
    request got (b"" when the server had closed the connection)."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    request = f"GET /health HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    try:
        writer.write(request)
        await writer.drain()
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert first.startswith(b"HTTP/1.1 200"), first
        length = int(next(line.split(b":")[1] for line in first.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))  # fmt: skip
        await reader.readexactly(length)
        await asyncio.sleep(idle_seconds)
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(12), 10)
    finally:
        writer.close()


async def test_an_idle_connection_outlives_uvicorns_five_seconds(sqlite_url: str) -> None:
    with await asyncio.to_thread(start_server, sqlite_url) as server:
        assert await idle_then_reuse(server.base_url, 6.0) == b"HTTP/1.1 200"


async def test_a_short_setting_closes_the_idle_connection(sqlite_url: str) -> None:
    env = {"SKYSLOTS_KEEP_ALIVE_SECONDS": "1"}
    with await asyncio.to_thread(start_server, sqlite_url, env=env) as server:
        assert await idle_then_reuse(server.base_url, 2.5) == b""
