"""Logs are JSON lines with the request id, one access line per request, and no secrets: a real
`skyslots serve` at LOG_LEVEL=DEBUG through sign-ins with a password, a booking with an email,
its manage token, an API token and a failing webhook, whose whole output names none of them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from skyslots.db import Database
from skyslots.logs import configure_logging, json_formatter, scrub_text
from tests.conftest import make_settings
from tests.helpers import PASSWORD, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.http_receiver import Receiver, http_receiver
from tests.servers import start_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PRINTED = ("SkySlots on http://",)  # `skyslots serve`'s own first line, for people


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if not line.strip() or line.startswith(PRINTED):
            continue
        lines.append(json.loads(line))  # anything else that is not JSON fails here
    return lines


async def test_a_request_flow_logs_json_lines_without_any_secret(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    run = uuid.uuid4().hex[:8]
    organizer_email = f"Olga.Organizer.{run}@example.org"
    booker_email = f"Ben.Booker.{run}@mail.example.com"
    env = {
        "SKYSLOTS_LOG_LEVEL": "DEBUG",
        "SKYSLOTS_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SKYSLOTS_OUTBOX_POLL_SECONDS": "0.3",
    }
    receiver.answers.extend([(500, {}, b"down")] * 3)
    db = Database(make_settings(database_url, tmp_path))
    secrets: list[str] = [PASSWORD, organizer_email, booker_email]
    try:
        with start_server(database_url, env=env) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
                # Sign-in with the password: the API's token form and the page's form.
                organizer = await make_account(db, http, email=organizer_email)
                secrets.append(organizer.headers["Authorization"].removeprefix("Bearer "))
                page = await http.get("/login")
                signed_in = await http.post(
                    "/login",
                    data={"email": organizer_email, "password": PASSWORD,
                          "csrf_token": CSRF.search(page.text).group(1)},  # type: ignore[union-attr]
                )  # fmt: skip
                assert signed_in.status_code == 303, signed_in.text
                secrets.append(http.cookies.get("skyslots_session") or "")
                http.cookies.clear()
                # A webhook (its secret) that fails, then a booking with an email.
                event = await make_event(http, organizer, hold_seconds=0)
                [slot, other] = await make_slots(http, organizer, event, pilot_slots(2))
                hook = await http.post(
                    f"/api/events/{event['id']}/webhooks",
                    json={"url": receiver.url, "events": ["booking.claimed"],
                          "include_email": True},
                    headers=organizer.headers,
                )  # fmt: skip
                assert hook.status_code == 201, hook.text
                secrets.append(hook.json()["secret"])
                booked = await http.post(
                    f"/api/slots/{slot['id']}/book",
                    json=booking_body(f"LOG{run[:4]}", email=booker_email),
                    headers={"X-Request-ID": f"proxy-{run}"},
                )
                assert booked.status_code == 201, booked.text
                assert booked.headers["x-request-id"] == f"proxy-{run}"  # the proxy's id
                manage = booked.json()["manage_token"]
                secrets.append(manage)
                refused = await http.post(
                    f"/api/slots/{other['id']}/book",
                    json=booking_body(f"LOG{run[:4]}", email=booker_email),
                    headers={"X-Request-ID": "not a sane id; " + "x" * 200},
                )
                assert refused.status_code == 409
                assert re.fullmatch(r"[0-9a-f]{32}", refused.headers["x-request-id"])
                # The manage token, then a personal API token, in use.
                mine = await http.get(
                    f"/api/bookings/{booked.json()['id']}/data", headers={"X-Manage-Token": manage}
                )
                assert (
                    mine.status_code == 200
                    and mine.json()["booking"]["email"] == booker_email.lower()
                )
                created = await http.post(
                    "/api/me/tokens", json={"name": "script", "scope": "read"},
                    headers=organizer.headers,
                )  # fmt: skip
                assert created.status_code == 201, created.text
                api_token = created.json()["token"]
                secrets.append(api_token)
                listed = await http.get(
                    "/api/me/tokens", headers={"Authorization": f"Bearer {api_token}"}
                )
                assert listed.status_code == 200
                await asyncio.to_thread(receiver.wait_for, 1)  # and failed
                deadline = time.monotonic() + 20
                while "attempt 1" not in server.log_tail(2000):  # the failure, logged
                    assert time.monotonic() < deadline, server.log_tail()
                    await asyncio.sleep(0.1)
            log = server.log_path.read_text(errors="replace")
    finally:
        await db.dispose()

    lines = json_lines(log)
    assert len(lines) > 15, log[-3000:]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    access = [line for line in lines if line["logger"] == "skyslots.access"]
    booking = [line for line in access if line.get("request_id") == f"proxy-{run}"]
    assert booking == [booking[0]], "one access line per request"
    assert booking[0]["route"] == "/api/slots/{slot_id}/book"  # the template, not the path
    assert booking[0]["method"] == "POST" and booking[0]["status"] == 201
    assert booking[0]["duration_ms"] > 0 and booking[0]["client"] == "127.0.0.1"
    assert all(line.get("request_id") for line in access)
    assert any(line["status"] == 409 for line in access)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # uvicorn's is off
    assert any(line["logger"].startswith("skyslots.outbox") for line in lines)  # the failures
    lowered = log.lower()
    leaked = [s for s in secrets if not s or s.lower() in lowered]
    assert not leaked, f"the log names {len(leaked)} secrets: {leaked}"
    assert "@example.org" not in lowered and "@mail.example.com" not in lowered


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger's lines, formatted as `skyslots serve` prints them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_lines_logged_inside_a_request_carry_its_id(
    tmp_path: Path, captured: io.StringIO
) -> None:
    from skyslots.app import create_app

    dead = "postgresql+asyncpg://nobody@127.0.0.1:1/none"  # the ping fails and logs a warning
    app = create_app(make_settings(dead, tmp_path, jobs_in_process=False))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        response = await http.get("/health", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 503
    assert response.headers["x-request-id"] == "trace-me-1"
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    ping = [line for line in lines if line["message"] == "database ping failed"]
    assert ping and all(line["request_id"] == "trace-me-1" for line in ping)
    assert "exception" in ping[0]  # the traceback, as one JSON string
    access = [line for line in lines if line["logger"] == "skyslots.access"]
    assert [line["status"] for line in access] == [503]
    assert access[0]["route"] == "/health"


def test_redaction_of_keys_and_text() -> None:
    stream = io.StringIO()
    configure_logging("INFO")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logging.getLogger().addHandler(handler)
    try:
        structlog.stdlib.get_logger("skyslots.test").info(
            "sent to jane.doe@example.com with token=abc123",
            password="hunter2",
            manage_token="m-secret",
            headers={"Authorization": "Bearer eyJ.secret", "Accept": "text/html"},
            url="redis://:redispass@redis:6379/0",
        )
        logging.getLogger("skyslots.test").warning("api token sks_abcdefgh used by %s", "a@b.io")
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    for secret in ("jane.doe", "abc123", "hunter2", "m-secret", "eyJ", "redispass", "abcdefgh"):
        assert secret not in text, text
    assert "a@b.io" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["headers"]["Accept"] == "text/html"  # what is not secret stays
    assert first["message"] == "sent to [email] with token=[redacted]"
    assert second["level"] == "warning" and second["logger"] == "skyslots.test"
    assert scrub_text("status_code=409") == "status_code=409"
