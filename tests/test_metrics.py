"""/metrics on a real `skyslots serve --workers 2` (PostgreSQL, a private Redis): requests spread
over both processes and any scrape shows their sum; bookings by outcome and code, holds,
waitlist promotions, the WebSocket gauge up and down, fan-out, the outbox and the jobs; the
scrape token; and every metric the Grafana dashboard uses."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from skyslots.db import Database
from skyslots.migrate import migrate
from tests.conftest import create_postgres_database, drop_postgres_database, make_settings
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.realtime_redis import PrivateRedis
from tests.realtime_support import of_type, recv_json, recv_until, ws_connect
from tests.servers import RunningServer, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
TOKEN = "scrape-token-for-tests-0123456789"
DASHBOARD = Path(__file__).parent.parent / "deploy/grafana/dashboards/skyslots.json"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Site:
    server: RunningServer
    http: httpx.AsyncClient
    organizer: Account
    data_dir: Path

    async def scrape(self) -> str:
        response = await self.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return response.text


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(
        v for (n, have), v in found.items() if n == name and set(labels.items()) <= set(have)
    )


@pytest.fixture(scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    url = await create_postgres_database()
    redis = PrivateRedis()
    redis.start()
    data_dir = tmp_path_factory.mktemp("metrics-data")
    try:
        await asyncio.to_thread(migrate, url)
        env = {
            "SKYSLOTS_REDIS_URL": redis.url,
            "SKYSLOTS_JOBS_IN_PROCESS": "true",  # the jobs' metrics come from these processes
            "SKYSLOTS_METRICS_TOKEN": TOKEN,
            "SKYSLOTS_DATA_DIR": str(data_dir),
        }
        server = await asyncio.to_thread(start_server, url, env=env, workers=2)
        db = Database(make_settings(url, data_dir))
        try:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                organizer = await make_account(db, http, email="metrics-org@example.com")
                yield Site(server, http, organizer, data_dir)
        finally:
            await db.dispose()
            await asyncio.to_thread(server.stop)
    finally:
        redis.stop()
        await drop_postgres_database(url)


async def test_the_token_guards_the_scrape(site: Site) -> None:
    assert (await site.http.get("/metrics")).status_code == 401
    wrong = await site.http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "metrics_token"
    assert "skyslots_http_request_duration_seconds" in await site.scrape()
    schema = await site.http.get("/openapi.json")
    assert "/metrics" not in schema.json()["paths"]


async def test_one_scrape_shows_the_requests_of_both_processes(site: Site) -> None:
    def health_count(found: Samples) -> float:
        return value(
            found, "skyslots_http_request_duration_seconds_count", route="/health", status="200"
        )

    before = health_count(samples(await site.scrape()))
    for _ in range(40):  # a new connection each time: the kernel spreads them over the workers
        async with httpx.AsyncClient(base_url=site.server.base_url) as fresh:
            assert (await fresh.get("/health")).status_code == 200
    files = list(site.data_dir.glob("metrics/serve-*/histogram_*.db"))
    pids = {re.fullmatch(r"histogram_(\d+)\.db", f.name).group(1) for f in files}  # type: ignore[union-attr]
    assert len(pids) == 2, f"both processes should have served requests: {files}"
    counts = []
    for _ in range(6):  # whichever process answers, the same sum
        async with httpx.AsyncClient(base_url=site.server.base_url) as fresh:
            answer = await fresh.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        counts.append(health_count(samples(answer.text)) - before)
    assert counts == [40.0] * 6
    assert (await site.http.get("/api/events/987654")).status_code == 404
    assert (await site.http.get("/no/such/page-987654")).status_code == 404
    found = samples(await site.scrape())
    buckets = "skyslots_http_request_duration_seconds_bucket"
    assert value(found, buckets, route="/health", le="+Inf") >= 40
    assert value(found, buckets, route="/api/events/{event_id}", status="404", le="+Inf") >= 1
    assert value(found, buckets, route="<unmatched>", status="404", le="+Inf") >= 1
    assert not any("987654" in str(labels) for _name, labels in found)  # templates, not paths


MESSAGES = "skyslots_realtime_messages_total"
FANNED_OUT = 3 * 5  # traffic's 5+ roster changes, each to its 3 sockets


async def traffic(site: Site) -> tuple[Samples, Samples]:
    """A hold, claims and refusals, a hold given back, a waitlist promotion, three sockets;
    the samples before and while the sockets are open."""
    http, org = site.http, site.organizer
    before = samples(await site.scrape())
    event = await make_event(http, org, hold_seconds=300, waitlist_mode="offer")
    a, b, c = await make_slots(http, org, event, pilot_slots(3))
    url = f"{site.server.base_url.replace('http://', 'ws://')}/ws/events/{event['id']}"
    sockets = [await ws_connect(url).__aenter__() for _ in range(3)]
    try:
        for ws in sockets:
            assert (await recv_json(ws))["type"] == "snapshot"
        handshake = sockets[0].response
        assert handshake is not None
        assert re.fullmatch(r"[0-9a-f]{32}", handshake.headers["x-request-id"])
        assert value(samples(await site.scrape()), "skyslots_websocket_connections") == 3
        hold = await http.post(f"/api/slots/{a['id']}/hold")
        assert hold.status_code == 201, hold.text
        again = await http.post(f"/api/slots/{a['id']}/hold")
        assert again.status_code == 409 and again.json()["code"] == "slot_held"
        booked = await http.post(
            f"/api/slots/{a['id']}/book",
            json=booking_body("MET1", hold_token=hold.json()["hold_token"]),
        )
        assert booked.status_code == 201, booked.text
        taken = await http.post(f"/api/slots/{a['id']}/book", json=booking_body("MET2"))
        assert taken.status_code == 409 and taken.json()["code"] == "slot_taken"
        twice = await http.post(f"/api/slots/{b['id']}/book", json=booking_body("MET1"))
        assert twice.status_code == 409 and twice.json()["code"] == "callsign_taken"
        held = await http.post(f"/api/slots/{c['id']}/hold")
        given_back = await http.delete(
            f"/api/holds/{held.json()['hold_id']}",
            headers={"X-Hold-Token": held.json()["hold_token"]},
        )
        assert given_back.status_code == 204
        waiting = await http.post(
            f"/api/events/{event['id']}/waitlist",
            json={"pilot_name": "Wai Ter", "pilot_callsign": "WAIT1", "slot_id": a["id"]},
        )
        assert waiting.status_code == 201, waiting.text
        released = await http.post(
            f"/api/bookings/{booked.json()['id']}/release",
            headers={"X-Manage-Token": booked.json()["manage_token"]},
        )
        assert released.status_code == 200, released.text
        for ws in sockets:
            await recv_until(ws, of_type("slot.updated"), within=5)
        # Fan-out runs after each commit, across both processes: the last changes may still be
        # on their way to the sockets when the first reached them.
        deadline = time.monotonic() + 10
        while True:
            during = samples(await site.scrape())
            fanned = value(during, MESSAGES) - value(before, MESSAGES)
            if fanned >= FANNED_OUT or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    finally:
        for ws in sockets:
            await ws.close()
    return before, during


async def test_bookings_holds_promotions_and_sockets_are_counted(site: Site) -> None:
    before, during = await traffic(site)

    def delta(name: str, **labels: str) -> float:
        return value(during, name, **labels) - value(before, name, **labels)

    assert delta("skyslots_bookings_total", outcome="claimed", code="") == 1
    assert delta("skyslots_bookings_total", outcome="refused", code="slot_taken") == 1
    assert delta("skyslots_bookings_total", outcome="refused", code="callsign_taken") == 1
    assert delta("skyslots_holds_total", outcome="held") == 2
    assert delta("skyslots_holds_total", outcome="refused") == 1
    assert delta("skyslots_holds_total", outcome="released") == 1
    assert delta("skyslots_waitlist_promotions_total") == 1
    assert delta(MESSAGES) >= FANNED_OUT
    deadline = time.monotonic() + 10
    while value(samples(await site.scrape()), "skyslots_websocket_connections") != 0:
        assert time.monotonic() < deadline, "the gauge did not come down"
        await asyncio.sleep(0.1)


async def test_every_dashboard_metric_is_exposed(site: Site) -> None:
    await traffic(site)
    text = await site.scrape()
    found = samples(text)
    wanted = set(re.findall(r"skyslots_[a-z_]+", json.dumps(json.loads(DASHBOARD.read_text()))))
    assert len(wanted) >= 10, wanted
    exposed = {name for name, _labels in found}
    assert not wanted - exposed, f"the dashboard uses metrics /metrics lacks: {wanted - exposed}"
    assert value(found, "skyslots_task_duration_seconds_count", task="skyslots.sweep_holds") > 0
    assert value(found, "skyslots_outbox_backlog") >= 0
    series: dict[str, Any] = {name: labels for name, labels in found}
    assert dict(series["skyslots_task_failures_total"]).get("task")
