"""The exports API on both engines, with the in-process jobs and the local storage: a request runs
to done with a working download link; organizers only; the same request within a minute (also
concurrent ones) is one export; storage down means retries, then a clear failure, and bookings
go on; the roster image follows the roster."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.models import Role
from tests.conftest import empty_tables, make_settings
from tests.exports_support import roster_event
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.servers import free_port


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, outbox_poll_seconds=0.3)


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def request(
    http: httpx.AsyncClient, account: Account | None, event_id: int, format: str
) -> httpx.Response:
    return await http.post(
        f"/api/events/{event_id}/exports",
        json={"format": format},
        headers=account.headers if account else {},
    )


async def finished(http: httpx.AsyncClient, account: Account, export_id: int) -> dict[str, Any]:
    """Poll GET /api/exports/{id} until done or failed (at most 30 s)."""
    seen: list[int] = []
    for _ in range(300):
        response = await http.get(f"/api/exports/{export_id}", headers=account.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.append(body["progress"])
        if body["status"] in ("done", "failed"):
            assert seen == sorted(seen), f"progress went back: {seen}"
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"export {export_id} still {body['status']} after 30 s")


async def download(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """Fetch a local-storage download URL (the app's signed /files/... address)."""
    parts = urlsplit(url)
    return await http.get(f"{parts.path}?{parts.query}")


async def test_csv_export_runs_to_a_download(client: httpx.AsyncClient, organizer: Account) -> None:
    event = await roster_event(client, organizer)
    response = await request(client, organizer, event["id"], "csv")
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and set(queued) == {"id", "status"}
    done = await finished(client, organizer, queued["id"])
    assert done["status"] == "done" and done["progress"] == 100 and done["error"] is None
    assert done["event_id"] == event["id"] and done["format"] == "csv"
    assert done["finished_at"] and done["created_at"]
    file = await download(client, done["url"])
    assert file.status_code == 200, file.text
    assert file.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8"))))
    assert {r["name"] for r in rows} >= {"Zoë Ångström", '\'=HYPERLINK("http://evil")'}


@pytest.mark.parametrize("format", ["pdf", "png"])
async def test_pdf_and_png_exports(
    client: httpx.AsyncClient, organizer: Account, format: str
) -> None:
    event = await roster_event(client, organizer)
    queued = (await request(client, organizer, event["id"], format)).json()
    done = await finished(client, organizer, queued["id"])
    assert done["status"] == "done", done
    file = await download(client, done["url"])
    assert file.status_code == 200
    assert file.content.startswith(b"%PDF" if format == "pdf" else b"\x89PNG")


async def test_exports_are_the_organizers_only(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    other = await make_account(db, client, email="other@example.com")
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    mine = (await request(client, organizer, event["id"], "csv")).json()
    for account, status, code in ((other, 403, "not_organizer"), (member, 403, "not_organizer")):
        answer = await request(client, account, event["id"], "csv")
        assert (answer.status_code, answer.json()["code"]) == (status, code)
        answer = await client.get(f"/api/exports/{mine['id']}", headers=account.headers)
        assert (answer.status_code, answer.json()["code"]) == (status, code)
        answer = await client.get(f"/api/events/{event['id']}/exports", headers=account.headers)
        assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert (await request(client, None, event["id"], "csv")).status_code == 401
    assert (await client.get(f"/api/exports/{mine['id']}")).status_code == 401
    assert (await client.get(f"/api/events/{event['id']}/exports")).status_code == 401
    assert (
        await client.get(f"/api/exports/{mine['id']}", headers=admin.headers)
    ).status_code == 200
    assert (await request(client, admin, event["id"], "pdf")).status_code == 202
    unknown = await client.get("/api/exports/999999", headers=organizer.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "export_not_found")
    no_event = await request(client, organizer, 999999, "csv")
    assert (no_event.status_code, no_event.json()["code"]) == (404, "event_not_found")


async def test_bad_requests_are_422(client: httpx.AsyncClient, organizer: Account) -> None:
    event = await make_event(client, organizer)
    for body in ({"format": "xlsx"}, {}, {"format": "csv", "extra": 1}, {"format": None}):
        answer = await client.post(
            f"/api/events/{event['id']}/exports", json=body, headers=organizer.headers
        )
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"][0]["loc"][:2] == ["body", "format"] or "extra" in answer.text
    assert (await client.get("/api/exports/0", headers=organizer.headers)).status_code == 422


async def test_the_same_request_within_a_minute_is_the_same_export(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await roster_event(client, organizer)
    first = (await request(client, organizer, event["id"], "csv")).json()
    again = (await request(client, organizer, event["id"], "csv")).json()
    assert again["id"] == first["id"]
    other_format = (await request(client, organizer, event["id"], "pdf")).json()
    assert other_format["id"] != first["id"]
    await finished(client, organizer, first["id"])
    after = await request(client, organizer, event["id"], "csv")
    assert after.status_code == 202
    assert after.json() == {"id": first["id"], "status": "done"}  # just finished: that one
    listed = await client.get(f"/api/events/{event['id']}/exports", headers=organizer.headers)
    ids = [e["id"] for e in listed.json() if e["format"] != "png"]
    assert ids == [other_format["id"], first["id"]]  # newest first


async def test_concurrent_requests_make_one_export(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await roster_event(client, organizer)
    answers = await asyncio.gather(
        *(request(client, organizer, event["id"], "pdf") for _ in range(12))
    )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1


async def test_roster_image_address(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await roster_event(client, organizer)
    # Before any image is stored (or while the first is made) the address still answers.
    first = await client.get(f"/api/events/{event['id']}/roster.png", follow_redirects=True)
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    for _ in range(100):  # the debounced image job stores one soon
        listed = await client.get(f"/api/events/{event['id']}/exports", headers=organizer.headers)
        images = [e for e in listed.json() if e["format"] == "png" and e["status"] == "done"]
        if images:
            break
        await asyncio.sleep(0.1)
    assert images, listed.json()
    redirect = await client.get(f"/api/events/{event['id']}/roster.png")
    assert redirect.status_code == 307
    assert (await download(client, redirect.headers["location"])).content.startswith(b"\x89PNG")
    inline = await client.get(f"/api/events/{event['id']}/roster.png?inline=1")
    assert inline.status_code == 200 and inline.headers["content-type"] == "image/png"
    page = await client.get(f"/events/{event['id']}")
    assert (
        f'<meta property="og:image" content="http://127.0.0.1:8000/api/events/{event["id"]}'
        '/roster.png">' in page.text
    )
    draft = await make_event(client, organizer, status="draft")
    assert (await client.get(f"/api/events/{draft['id']}/roster.png")).status_code == 404


async def test_roster_image_follows_the_roster_debounced(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path, outbox_poll_seconds=0.2, roster_image_seconds=1.0
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await empty_tables(app.state.database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            organizer = await make_account(app.state.database, http, email="org@example.com")
            event = await make_event(http, organizer)
            slots = await make_slots(http, organizer, event, pilot_slots(20))
            for number, slot in enumerate(slots):  # a rush of claims: 20 changes in ~2 s
                booked = await http.post(
                    f"/api/slots/{slot['id']}/book", json=booking_body(f"BAW{number}")
                )
                assert booked.status_code == 201
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.5)
            listed = await http.get(f"/api/events/{event['id']}/exports", headers=organizer.headers)
            images = [e for e in listed.json() if e["format"] == "png"]
    assert 1 <= len(images) <= 5, images  # about one per second, not one per claim
    assert images[0]["status"] == "done"


@pytest.fixture
async def storage_down(database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app whose S3 storage is a closed port."""
    settings = make_settings(
        database_url, tmp_path, outbox_poll_seconds=0.3, export_max_attempts=2,
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}", s3_access_key="k", s3_secret_key="s",
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await empty_tables(app.state.database)
        yield app


async def test_storage_unreachable_retries_then_fails_and_booking_goes_on(
    storage_down: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=storage_down)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        organizer = await make_account(storage_down.state.database, http, email="o@example.com")
        event = await make_event(http, organizer)
        slots = await make_slots(http, organizer, event, pilot_slots(2))
        queued = (await request(http, organizer, event["id"], "csv")).json()
        seen_retry = False
        for _ in range(300):
            body = (
                await http.get(f"/api/exports/{queued['id']}", headers=organizer.headers)
            ).json()
            seen_retry |= body["status"] == "queued" and "trying again" in (body["error"] or "")
            if body["status"] == "failed":
                break
            await asyncio.sleep(0.1)
        assert body["status"] == "failed", body
        assert seen_retry
        assert body["error"].startswith("storage unreachable"), body["error"]
        assert body["url"] is None
        booked = await http.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body())
        assert booked.status_code == 201, booked.text
