"""The Compose stack's routing, for real: a `traefik` process runs deploy/compose.yaml's Traefik
flags and its services' labels (as the file provider's configuration, tests/compose_stack.py) in
front of two `skyslots serve` processes and a `skyslots worker` on PostgreSQL and Redis. Host
names route (app., api., docs.localhost), TLS is served with a self-signed certificate, HTTP
redirects to HTTPS, /metrics is not routed, the roster's WebSocket works through the proxy and a
booking's mail is sent by the worker."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from websockets.asyncio.client import connect

from skyslots.db import Database
from skyslots.migrate import migrate
from tests.compose_stack import compose_config, dynamic_from_labels, static_flags
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.servers import Job, RunningServer, free_port, server_env, start_server
from tests.smtp_sink import Sink, smtp_sink
from tests.traefik_proxy import require_traefik, run_traefik

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
HOSTS = ("app.localhost", "api.localhost", "docs.localhost", "files.localhost")
COMPOSE_ENV = {
    "SKYSLOTS_VERSION": "test", "DOMAIN": "localhost", "ACME_EMAIL": "ops@example.org",
    "POSTGRES_PASSWORD": "unused", "MINIO_ROOT_USER": "unused", "MINIO_ROOT_PASSWORD": "unused",
}  # fmt: skip


@dataclass
class Proxied:
    https_port: int
    http_port: int
    tls: ssl.SSLContext
    sink: Sink
    organizer: Account
    servers: list[RunningServer]

    def client(self, host: str, *, address: str | None = None) -> httpx.AsyncClient:
        """A client of https://<host> (resolved to the proxy on 127.0.0.1, SNI and Host set),
        connecting from `address` (any 127.0.0.0/8 address) when given."""
        transport = httpx.AsyncHTTPTransport(verify=self.tls, local_address=address)
        return httpx.AsyncClient(
            base_url=f"https://{host}:{self.https_port}", transport=transport, timeout=20,
            event_hooks={"request": [_to_loopback]},
        )  # fmt: skip


async def _to_loopback(request: httpx.Request) -> None:
    """Send `*.localhost` requests to 127.0.0.1 with the name kept for SNI and Host."""
    host = request.url.host
    if host.endswith(".localhost"):
        request.extensions["sni_hostname"] = host
        request.headers["Host"] = f"{host}:{request.url.port}"
        request.url = request.url.copy_with(host="127.0.0.1")


def certificate(folder: Path) -> tuple[trustme.CA, dict[str, Any]]:
    """A test CA, and a certificate for the stack's host names as Traefik's default one."""
    ca = trustme.CA()
    issued = ca.issue_cert(*HOSTS)
    cert, key = folder / "cert.pem", folder / "key.pem"
    issued.private_key_pem.write_to_path(str(key))
    for index, pem in enumerate(issued.cert_chain_pems):
        pem.write_to_path(str(cert), append=index > 0)
    default = {"defaultCertificate": {"certFile": str(cert), "keyFile": str(key)}}
    return ca, {"tls": {"stores": {"default": default}}}


@pytest.fixture(scope="module")
async def proxied() -> AsyncIterator[Proxied]:
    require_traefik()
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    folder = Path(tempfile.mkdtemp(prefix="skyslots-routing-"))
    try:
        await asyncio.to_thread(migrate, url)
        with smtp_sink() as (sink, smtp_url), ExitStack() as stack:
            env = {
                "SKYSLOTS_REDIS_URL": redis.url,
                "SKYSLOTS_SMTP_URL": smtp_url,
                "SKYSLOTS_TRUSTED_PROXIES": "127.0.0.1/32",
                "SKYSLOTS_LOG_LEVEL": "INFO",
            }  # fmt: skip (INFO: the access log)
            worker = Job([sys.executable, "-m", "skyslots", "worker", "--concurrency", "1"],
                         server_env(url, env), folder / "worker.log")  # fmt: skip
            worker.start()
            stack.callback(worker.stop)
            servers: list[RunningServer] = [
                stack.enter_context(await asyncio.to_thread(start_server, url, env=env))
                for _ in range(2)
            ]
            config = compose_config(COMPOSE_ENV)
            ca, tls = certificate(folder)
            dynamic = dynamic_from_labels(
                config, service="app", backends=[s.base_url for s in servers]
            )
            dynamic.update(tls)
            http_port, https_port = free_port(), free_port()
            flags = static_flags(config, addresses={
                "web": f"127.0.0.1:{http_port}", "websecure": f"127.0.0.1:{https_port}",
            })  # fmt: skip
            proxy = await asyncio.to_thread(run_traefik, dynamic, flags=flags)
            stack.enter_context(proxy)
            context = ssl.create_default_context()
            ca.configure_trust(context)
            db = Database(make_settings(url, folder))
            try:
                probe = Proxied(https_port, http_port, context, sink, None, servers)  # type: ignore[arg-type]
                async with probe.client("api.localhost") as api:
                    await _until_routed(api)
                    organizer = await make_account(db, api, email="org@example.com")
            finally:
                await db.dispose()
            yield Proxied(https_port, http_port, context, sink, organizer, servers)
    finally:
        redis.stop()
        await drop_postgres_database(url)


async def _until_routed(client: httpx.AsyncClient) -> None:
    """Traefik answers its ping before the file provider's routers are in: wait for them."""
    for _ in range(100):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the api router never answered")


async def test_host_names_route_over_tls_and_http_redirects(proxied: Proxied) -> None:
    async with proxied.client("app.localhost") as app:
        home = await app.get("/")
        assert home.status_code == 200 and "text/html" in home.headers["content-type"]
        assert home.headers["strict-transport-security"].startswith("max-age=63072000")
        assert (await app.get("/metrics")).status_code == 404  # Traefik's: not routed
    async with proxied.client("api.localhost") as api:
        events = await api.get("/api/events")
        assert events.status_code == 200 and events.json()["items"] == []
    async with proxied.client("docs.localhost") as docs:
        root = await docs.get("/")
        assert root.status_code in (301, 302, 307, 308)
        assert root.headers["location"] == f"https://docs.localhost:{proxied.https_port}/docs"
        swagger = await docs.get("/docs")
        assert swagger.status_code == 200 and "swagger" in swagger.text.lower()
        assert (await docs.get("/openapi.json")).json()["info"]["title"] == "SkySlots"
    async with httpx.AsyncClient(event_hooks={"request": [_to_loopback]}) as plain:
        redirect = await plain.get(f"http://app.localhost:{proxied.http_port}/events?x=1")
    assert redirect.status_code in (301, 308)
    assert redirect.headers["location"] == (
        f"https://app.localhost:{proxied.https_port}/events?x=1"
    )
    with pytest.raises(httpx.ConnectError):  # an unknown CA is refused: the test CA is real
        async with httpx.AsyncClient(event_hooks={"request": [_to_loopback]}) as untrusting:
            await untrusting.get(f"https://app.localhost:{proxied.https_port}/")


async def test_roster_updates_and_mail_through_the_proxy(proxied: Proxied) -> None:
    async with proxied.client("api.localhost") as api:
        event = await make_event(api, proxied.organizer)
        [slot] = await make_slots(api, proxied.organizer, event, pilot_slots(1))
        uri = f"wss://app.localhost:{proxied.https_port}/ws/events/{event['id']}"
        async with connect(
            uri, ssl=proxied.tls, host="127.0.0.1", port=proxied.https_port,
            server_hostname="app.localhost", open_timeout=10,
        ) as socket:  # fmt: skip
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert hello["type"] == "snapshot", hello
            body = booking_body("PRX101", email="pilot@proxy.example")
            booked = await api.post(f"/api/slots/{slot['id']}/book", json=body)
            assert booked.status_code == 201, booked.text
            update = json.loads(await asyncio.wait_for(socket.recv(), 10))
            while update["type"] == "ping":
                update = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert (update["type"], update["change"]) == ("slot.updated", "booking.claimed")
            assert update["slot_id"] == slot["id"], update
    [mail] = await asyncio.to_thread(proxied.sink.wait_for, 1)
    assert mail["To"] == "pilot@proxy.example"


async def test_the_app_sees_the_client_address_traefik_forwarded(proxied: Proxied) -> None:
    request_id = "routing-probe-7f3a"
    async with proxied.client("api.localhost", address="127.0.0.9") as api:
        answer = await api.get("/api/events", headers={"X-Request-ID": request_id})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id
    for _ in range(50):  # the access line is written as the response ends
        lines = [json.loads(line) for server in proxied.servers
                 for line in server.log_path.read_text().splitlines()
                 if request_id in line and line.startswith("{")]  # fmt: skip
        if lines:
            break
        await asyncio.sleep(0.1)
    [access] = [line for line in lines if line.get("route") == "/api/events"]
    assert access["client"] == "127.0.0.9" and access["status"] == 200, access
