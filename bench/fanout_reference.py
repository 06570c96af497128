"""The fan-out reference: a bare `websockets` server that broadcasts one payload to everyone.

    python bench/fanout_reference.py PORT PAYLOAD_FILE

`GET /broadcast` (a plain HTTP request) answers 201 and right after it sends the payload to every
connected socket with `websockets.broadcast`: the clock starts at the 201, as for a booking, and
the whole broadcast happens after it.
"""

from __future__ import annotations

import asyncio
import sys
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

CONNECTIONS: set[ServerConnection] = set()


async def main(port: int, payload: str) -> None:
    async def handler(connection: ServerConnection) -> None:
        CONNECTIONS.add(connection)
        try:
            await connection.wait_closed()
        finally:
            CONNECTIONS.discard(connection)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/health":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if request.path == "/broadcast":
            # Runs once this handshake step has written the 201.
            asyncio.get_running_loop().call_soon(broadcast, set(CONNECTIONS), payload)
            return connection.respond(HTTPStatus.CREATED, f"{len(CONNECTIONS)}\n")
        return None

    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=process_request,
        compression=None,
        ping_interval=None,
        backlog=4096,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2]).read_text()))
