# ruff: noqa: E501  (the tables of calls below read best one call per line)
"""Feature flags: SKYSLOTS_FEATURES, admins' toggles (which win), each flag's endpoints answering
404 `feature_off` and its UI gone while it is off, and a toggle reaching another server process
within seconds."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import func, select

from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.features.flags import BY_NAME, parse_features
from skyslots.features.service import Features, feature_on, features_wired
from skyslots.jobs.work import deliver_outbox
from skyslots.migrate import migrate
from skyslots.models import AuditLog, OutboxMessage, Role
from skyslots.outbox.service import outbox_add
from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    empty_tables,
    make_settings,
)
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.servers import server_env, start_server
from tests.test_web_views import page_csrf, web_login

ROSTER_JSON = re.compile(r'<script type="application/json" id="roster-data">(.*?)</script>', re.S)


async def running_app(settings: Settings) -> Any:
    application = create_app(settings)
    context = application.router.lifespan_context(application)
    await context.__aenter__()
    await empty_tables(application.state.database)
    return application, context


@pytest.fixture
async def flagged(database_url: str, tmp_path: Path) -> Any:
    """An app factory: `await flagged("waitlist=off", **settings)` (closed after the test)."""
    opened: list[Any] = []

    async def make(features: str = "", **overrides: Any) -> tuple[FastAPI, httpx.AsyncClient]:
        settings = make_settings(database_url, tmp_path, features=features, **overrides)
        application, context = await running_app(settings)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        )
        opened.append((context, client))
        return application, client

    yield make
    for context, client in reversed(opened):
        await client.aclose()
        await context.__aexit__(None, None, None)


def off(response: httpx.Response) -> bool:
    return response.status_code == 404 and response.json()["code"] == "feature_off"


def page_off(response: httpx.Response) -> bool:
    return response.status_code == 404 and "is turned off on this site" in response.text


async def admin_of(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="admin@example.com", role=Role.ADMIN)


async def toggle(client: httpx.AsyncClient, admin: Account, name: str, enabled: bool) -> None:
    answer = await client.put(
        f"/api/features/{name}", json={"enabled": enabled}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text


# --- SKYSLOTS_FEATURES -----------------------------------------------------------------------


def test_the_environment_setting_is_parsed_and_bad_names_or_values_are_refused(
    tmp_path: Path,
) -> None:
    assert parse_features("") == {}
    assert parse_features(" waitlist=off, Webhooks=ON ,holds=false,") == {
        "waitlist": False,
        "webhooks": True,
        "holds": False,
    }
    for bad, says in (
        ("waitlists=off", "with a name of holds, waitlist"),
        ("waitlist", "use name=on or name=off"),
        ("waitlist=maybe", "must be on or off"),
    ):
        with pytest.raises(ValueError, match=says):
            parse_features(bad)
        with pytest.raises(ValidationError, match=says):
            Settings(data_dir=tmp_path, features=bad)
    required = {
        "holds",
        "waitlist",
        "email_confirmation",
        "webhooks",
        "vatsim_signin",
        "rate_limits",
    }
    assert required <= set(BY_NAME)


def test_a_server_refuses_to_start_with_a_bad_features_setting(tmp_path: Path) -> None:
    env = server_env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", {"SKYSLOTS_FEATURES": "wait=off"})
    done = subprocess.run(
        [sys.executable, "-m", "skyslots", "serve", "--port", "9"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "features" in done.stderr and "'wait=off'" in done.stderr, done.stderr


async def test_the_cache_reads_again_after_its_ttl_and_keeps_the_last_set_when_the_db_fails(
    tmp_path: Path,
) -> None:
    now = [100.0]
    features = Features({"waitlist": True}, None, ttl=2.0, clock=lambda: now[0])
    assert await features.effective() == {"waitlist": True}

    class Broken:
        reads = 0

        async def read(self, *_: Any, **__: Any) -> Any:
            Broken.reads += 1
            raise OSError("database down")

    features.database = Broken()  # type: ignore[assignment]
    assert await features.effective() == {"waitlist": True}  # last known set, no error
    assert await features.effective() == {"waitlist": True} and Broken.reads == 1  # cached 2 s
    now[0] += 2.5
    await features.effective()
    assert Broken.reads == 2


async def test_units_of_work_reading_stale_flags_together_do_not_deadlock_on_sqlite(
    sqlite_url: str, tmp_path: Path
) -> None:
    """One unit holds SQLite's write lock and then reads the flags; another began reading them
    just before and waits for that write lock. A process lock around the read made the first
    wait for the second: both stood still until the busy timeout (seen as a frozen server)."""
    settings = make_settings(sqlite_url, tmp_path, sqlite_busy_timeout_ms=4_000)
    database = Database(settings)
    features_wired(settings, database).ttl = 0.0  # every read goes to the database
    holding, waiting = asyncio.Event(), asyncio.Event()

    async def holder(session: Any) -> bool:
        await session.execute(select(func.count()).select_from(AuditLog))  # BEGIN IMMEDIATE
        holding.set()
        await waiting.wait()
        await asyncio.sleep(0.3)  # the other unit is inside its flag read, waiting for the lock
        return await feature_on(session, "waitlist")

    async def latecomer(session: Any) -> bool:
        await holding.wait()
        waiting.set()
        return await feature_on(session, "waitlist")

    try:
        started = time.monotonic()
        async with asyncio.timeout(3.0):
            both = await asyncio.gather(
                database.transaction(holder), database.transaction(latecomer)
            )
        assert both == [True, True]
        assert time.monotonic() - started < 2.0
    finally:
        await database.dispose()


# --- precedence and the admin API ------------------------------------------------------------


async def test_a_toggle_wins_over_the_environment_and_a_reset_goes_back_to_it(flagged: Any) -> None:
    app, client = await flagged("waitlist=off,webhooks=on")
    db: Database = app.state.database
    admin = await admin_of(client, db)
    shown = (await client.get("/api/features")).json()["features"]
    assert shown == {name: name != "waitlist" for name in BY_NAME}

    answer = await client.put(
        "/api/features/waitlist", json={"enabled": True}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"updated_at": None} == {
        "name": "waitlist", "enabled": True, "default": True, "source": "toggle", "updated_at": None,
    }  # fmt: skip
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is True
    await toggle(client, admin, "holds", False)
    assert (await client.get("/api/features")).json()["features"]["holds"] is False

    assert (await client.delete("/api/features/waitlist", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is False  # the env's
    assert (await client.delete("/api/features/holds", headers=admin.headers)).status_code == 204
    assert (await client.get("/api/features")).json()["features"]["holds"] is True  # the default

    async def audit(session: Any) -> list[tuple[str, dict[str, Any]]]:
        rows = await session.execute(
            select(AuditLog.action_type, AuditLog.payload).order_by(AuditLog.id)
        )
        return [tuple(row) for row in rows]

    assert await db.read(audit) == [
        ("feature.enabled", {"name": "waitlist", "enabled": True}),
        ("feature.disabled", {"name": "holds", "enabled": False}),
        ("feature.reset", {"name": "waitlist", "had_toggle": True}),
        ("feature.reset", {"name": "holds", "had_toggle": True}),
    ]


async def test_only_admins_toggle_flags(flagged: Any) -> None:
    app, client = await flagged()
    db: Database = app.state.database
    admin = await admin_of(client, db)
    organizer = await make_account(db, client, email="org@example.com")
    member = await make_account(db, client, email="m@example.com", role=Role.MEMBER)
    body = {"json": {"enabled": False}}
    anonymous = await client.put("/api/features/waitlist", **body)
    assert anonymous.status_code == 401
    for who in (organizer, member):
        for call in (
            client.put("/api/features/waitlist", headers=who.headers, **body),
            client.delete("/api/features/waitlist", headers=who.headers),
        ):
            refused = await call
            assert refused.status_code == 403 and refused.json()["code"] == "not_admin"
    assert (await client.delete("/api/features/waitlist")).status_code == 401
    unknown = await client.put("/api/features/nope", headers=admin.headers, **body)
    assert unknown.status_code == 404 and unknown.json()["code"] == "feature_not_found"
    bad = await client.put("/api/features/waitlist", headers=admin.headers, json={"enabled": "x"})
    assert bad.status_code == 422
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is True


async def test_the_dashboard_page_is_for_admins_and_toggles_with_csrf(flagged: Any) -> None:
    app, client = await flagged()
    db: Database = app.state.database
    await admin_of(client, db)
    await make_account(db, client, email="org@example.com")
    anonymous = await client.get("/organizer/features")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    organizer_client = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    assert (await web_login(organizer_client, "org@example.com")).status_code == 303
    assert (await organizer_client.get("/organizer/features")).status_code == 403
    dashboard = await organizer_client.get("/organizer")
    assert 'href="/organizer/features"' not in dashboard.text
    csrf = await page_csrf(organizer_client, "/organizer")
    refused = await organizer_client.post(
        "/organizer/features/waitlist", data={"csrf_token": csrf, "action": "off"}
    )
    assert refused.status_code == 403

    assert (await web_login(client, "admin@example.com")).status_code == 303
    assert 'href="/organizer/features"' in (await client.get("/organizer")).text
    page = await client.get("/organizer/features")
    assert page.status_code == 200 and 'data-feature="waitlist" data-enabled="true"' in page.text
    no_csrf = await client.post("/organizer/features/waitlist", data={"action": "off"})
    assert no_csrf.status_code == 403
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is True
    csrf = await page_csrf(client, "/organizer/features")
    turned = await client.post(
        "/organizer/features/waitlist", data={"csrf_token": csrf, "action": "off"}
    )
    assert turned.status_code == 303
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is False
    page = await client.get("/organizer/features")
    assert 'data-feature="waitlist" data-enabled="false"' in page.text
    assert "waitlist is now off" in page.text
    reset = await client.post(
        "/organizer/features/waitlist", data={"csrf_token": csrf, "action": "reset"}
    )
    assert reset.status_code == 303
    assert (await client.get("/api/features")).json()["features"]["waitlist"] is True
    await organizer_client.aclose()


# --- each flag off ---------------------------------------------------------------------------


async def event_with_slots(
    client: httpx.AsyncClient, db: Database, count: int = 2, **event: Any
) -> tuple[Account, dict[str, Any], list[dict[str, Any]]]:
    organizer = await make_account(db, client, email="org@example.com")
    made = await make_event(client, organizer, **event)
    return organizer, made, await make_slots(client, organizer, made, pilot_slots(count))


def roster_event(html: str) -> dict[str, Any]:
    found = ROSTER_JSON.search(html)
    assert found, html[:500]
    return json.loads(found.group(1))["event"]  # type: ignore[no-any-return]


async def test_holds_off_answers_feature_off_and_the_modal_books_directly(flagged: Any) -> None:
    app, client = await flagged()
    db: Database = app.state.database
    admin = await admin_of(client, db)
    _, event, [slot, _] = await event_with_slots(client, db, hold_seconds=300)
    page = await client.get(f"/events/{event['id']}")
    assert roster_event(page.text)["hold_seconds"] == 300  # the control: the hold step is there
    held = await client.post(f"/api/slots/{slot['id']}/hold")
    assert held.status_code == 201

    await toggle(client, admin, "holds", False)
    assert off(await client.post(f"/api/slots/{slot['id']}/hold"))
    gone = await client.delete(
        f"/api/holds/{held.json()['hold_id']}", headers={"X-Hold-Token": "x"}
    )
    assert off(gone)
    page = await client.get(f"/events/{event['id']}")
    assert roster_event(page.text)["hold_seconds"] == 0  # the modal's script books directly
    assert (await client.get(f"/api/events/{event['id']}")).json()["hold_seconds"] == 300  # kept
    form = await client.get(f"/organizer/events/{event['id']}/edit")  # not signed in here
    assert form.status_code == 303


async def test_waitlist_off_answers_feature_off_hides_the_join_links_and_promotes_nobody(
    flagged: Any,
) -> None:
    app, client = await flagged()
    db: Database = app.state.database
    admin = await admin_of(client, db)
    organizer, event, [slot, _] = await event_with_slots(client, db, hold_seconds=0)
    booked = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert booked.status_code == 201
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "W", "pilot_callsign": "DLH2", "slot_id": slot["id"]},
    )
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    page = await client.get(f"/events/{event['id']}")
    assert "data-wait=" in page.text and "Join waitlist" in page.text  # the control

    await toggle(client, admin, "waitlist", False)
    token = {"X-Manage-Token": entry["manage_token"]}
    for call in (
        client.post(f"/api/events/{event['id']}/waitlist", json={"pilot_name": "X", "pilot_callsign": "AFR3"}),
        client.get(f"/api/waitlist/{entry['id']}", headers=token),
        client.delete(f"/api/waitlist/{entry['id']}", headers=token),
        client.post(f"/api/waitlist/{entry['id']}/accept", headers=token),
        client.get(f"/api/events/{event['id']}/waitlist", headers=organizer.headers),
    ):  # fmt: skip
        assert off(await call)
    assert page_off(await client.get(f"/waitlist/{entry['id']}?token={entry['manage_token']}"))
    page = await client.get(f"/events/{event['id']}")
    assert "data-wait=" not in page.text and "Join waitlist" not in page.text
    assert "wait-template" not in page.text
    assert roster_event(page.text)["waitlist_mode"] == "off"
    no_form = await client.get(f"/events/{event['id']}?wait={slot['id']}")
    assert 'action="/events/{}/waitlist"'.format(event["id"]) not in no_form.text

    released = await client.post(
        f"/api/bookings/{booked.json()['id']}/release",
        headers={"X-Manage-Token": booked.json()["manage_token"]},
    )
    assert released.status_code == 200, released.text
    detail = (await client.get(f"/api/events/{event['id']}")).json()
    assert next(s for s in detail["slots"] if s["id"] == slot["id"])["status"] == "free"


async def test_email_confirmation_off_books_at_once_and_the_confirm_routes_answer_feature_off(
    flagged: Any,
) -> None:
    app, client = await flagged()
    db: Database = app.state.database
    admin = await admin_of(client, db)
    _, _, [first, second] = await event_with_slots(
        client, db, require_email_confirmation=True, hold_seconds=0
    )
    pending = await client.post(
        f"/api/slots/{first['id']}/book", json=booking_body("BAW1", email="a@example.com")
    )
    assert pending.json()["status"] == "pending"  # the control

    await toggle(client, admin, "email_confirmation", False)
    booked = await client.post(f"/api/slots/{second['id']}/book", json=booking_body("DLH2"))
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "claimed"
    claim = pending.json()
    assert off(
        await client.post(
            f"/api/bookings/{claim['id']}/confirm", json={"token": claim["manage_token"]}
        )
    )
    assert page_off(
        await client.get(f"/bookings/{claim['id']}/confirm?token={claim['manage_token']}")
    )
    manage = await client.get(f"/bookings/{claim['id']}/manage?token={claim['manage_token']}")
    assert manage.status_code == 200 and 'data-role="confirm-form"' not in manage.text


async def webhook_rows(db: Database) -> int:
    async def count(session: Any) -> int:
        query = select(func.count()).where(OutboxMessage.kind == "webhook")
        return int(await session.scalar(query))

    return await db.read(count)


async def test_webhooks_off_answers_feature_off_and_queues_and_delivers_nothing(
    flagged: Any,
) -> None:
    app, client = await flagged(webhooks_allow_private=True)
    db: Database = app.state.database
    admin = await admin_of(client, db)
    organizer, event, [first, second] = await event_with_slots(client, db, hold_seconds=0)
    made = await client.post(
        f"/api/events/{event['id']}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["booking.claimed"]},
        headers=organizer.headers,
    )
    assert made.status_code == 201, made.text
    await toggle(client, admin, "webhooks", False)
    for call in (
        client.post(f"/api/events/{event['id']}/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["booking.claimed"]}, headers=organizer.headers),
        client.get(f"/api/events/{event['id']}/webhooks", headers=organizer.headers),
        client.post(f"/api/webhooks/{made.json()['id']}/test", headers=organizer.headers),
        client.delete(f"/api/webhooks/{made.json()['id']}", headers=organizer.headers),
    ):  # fmt: skip
        assert off(await call)
    assert (
        await client.post(f"/api/slots/{first['id']}/book", json=booking_body("BAW1"))
    ).status_code == 201
    assert await webhook_rows(db) == 0

    # A call queued before the flag went off waits untouched: the relay does not take it.
    async def queue(session: Any) -> int:
        return await outbox_add(
            session, kind="webhook", target=str(made.json()["id"]), payload={"type": "x"},
            dedupe_key="webhook:test", event_id=event["id"],
        )  # fmt: skip

    row_id = await db.transaction(queue)
    await deliver_outbox(db, app.state.settings, {}, ids=[row_id])

    async def attempts(session: Any) -> tuple[str, int]:
        row = await session.get(OutboxMessage, row_id)
        return row.status, row.attempts

    assert await db.read(attempts) == ("pending", 0)

    await toggle(client, admin, "webhooks", True)  # the control: a booking now queues a call
    assert (
        await client.post(f"/api/slots/{second['id']}/book", json=booking_body("DLH2"))
    ).status_code == 201
    assert await webhook_rows(db) == 2


async def test_vatsim_signin_off_answers_feature_off_and_hides_the_button(flagged: Any) -> None:
    vatsim = {"vatsim_client_id": "skyslots-test", "vatsim_client_secret": "s3cret"}
    app, client = await flagged(**vatsim)
    admin = await admin_of(client, app.state.database)
    login = await client.get("/login")
    assert "Sign in with VATSIM" in login.text and "/auth/vatsim/login" in login.text  # control
    assert (await client.get("/auth/vatsim/login", follow_redirects=False)).status_code == 303

    await toggle(client, admin, "vatsim_signin", False)
    for path in ("/auth/vatsim/login", "/auth/vatsim/callback?code=x&state=y"):
        assert page_off(await client.get(path, follow_redirects=False))
    for page in ("/login", "/"):
        shown = (await client.get(page)).text
        assert "Sign in with VATSIM" not in shown and "/auth/vatsim/" not in shown


async def test_rate_limits_off_lets_every_request_through(flagged: Any) -> None:
    app, client = await flagged(rate_limits="signin=3/minute")
    admin = await admin_of(client, app.state.database)  # its own sign-in counts once

    async def wrong_passwords(email: str) -> list[int]:
        form = {"username": email, "password": "not it"}
        return [(await client.post("/api/auth/token", data=form)).status_code for _ in range(5)]

    assert 429 in await wrong_passwords("a@example.com")  # the control: limited
    await toggle(client, admin, "rate_limits", False)
    assert await wrong_passwords("b@example.com") == [401] * 5


# --- across processes ------------------------------------------------------------------------


@pytest.mark.postgres
async def test_a_toggle_through_one_server_turns_the_other_off_within_seconds(
    tmp_path: Path,
) -> None:
    url = await create_postgres_database()
    try:
        await asyncio.to_thread(migrate, url)
        first, second = await asyncio.gather(
            asyncio.to_thread(start_server, url), asyncio.to_thread(start_server, url)
        )
        try:
            db = Database(make_settings(url, tmp_path))
            async with (
                httpx.AsyncClient(base_url=first.base_url) as one,
                httpx.AsyncClient(base_url=second.base_url) as other,
            ):
                admin = await admin_of(one, db)
                organizer = await make_account(db, one, email="org@example.com")
                event = await make_event(one, organizer, hold_seconds=0)
                body = {"pilot_name": "W", "pilot_callsign": "DLH2"}
                path = f"/api/events/{event['id']}/waitlist"
                before = await other.post(path, json=body)
                assert before.status_code == 201, before.text  # the control: it is on there
                await toggle(one, admin, "waitlist", False)
                toggled = time.monotonic()
                assert off(await one.post(path, json=body))  # at once where it was made
                while not off(answer := await other.post(path, json=body)):
                    assert answer.status_code == 409  # already waiting: still on
                    assert time.monotonic() - toggled < 3.0, "not seen within 3 s"
                    await asyncio.sleep(0.05)
                assert time.monotonic() - toggled < 3.0
                await toggle(one, admin, "waitlist", True)  # and back on, as quickly
                toggled = time.monotonic()
                while not (await other.get("/api/features")).json()["features"]["waitlist"]:
                    assert time.monotonic() - toggled < 3.0, "not seen within 3 s"
                    await asyncio.sleep(0.05)
            await db.dispose()
        finally:
            await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))
    finally:
        await drop_postgres_database(url)
