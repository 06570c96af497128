# ruff: noqa: E501  (the tables below read best one route per line)
"""Every route of the app, called as every kind of caller, answers as its table entry says.

ROUTES names each route's required role. The test enumerates `app.routes` (API routes, pages,
the WebSocket, mounts), fails for a route the table does not name (so a new route cannot ship
without deciding who may call it), then calls each route as each actor with valid path ids,
bodies and forms, on fresh objects so one call cannot spoil the next. "Refused" is what the
codebase answers for "not yours": 401, 403 or 404 (pages: 403, 404, or 303 to the sign-in);
"allowed" is anything else (409 for a state conflict is allowed: the caller got past the check).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, WebSocketRoute

from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.models import OutboxMessage, Role
from tests.conftest import empty_tables, make_settings
from tests.helpers import PASSWORD, Account, booking_body, event_body, event_start, make_account

try:  # FastAPI >= 0.137 keeps included routers whole; this lists their routes with full paths
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI flattened them into app.routes
    iter_route_contexts = None  # type: ignore[assignment]

PUBLIC = "public"  # anyone, signed in or not
TOKEN = "token holder"  # anyone holding the booking's, entry's or hold's token (it is sent)
SIGNED_IN = "signed-in"  # any account
ORGANIZER_AREA = "organizer area"  # an organizer or admin account, or a co-organizer of an event
EVENT_CREATOR = "event creator"  # an organizer or admin account
EVENT_ORGANIZER = "event organizer"  # the event's owner, a co-organizer of it, or an admin
EVENT_OWNER = "event owner"  # the event's owner or an admin
ADMIN = "admin"

ACTORS = ("nobody", "member", "other_organizer", "co_organizer", "owner", "admin")
ALLOWED = {
    PUBLIC: set(ACTORS),
    TOKEN: set(ACTORS),
    SIGNED_IN: set(ACTORS) - {"nobody"},
    ORGANIZER_AREA: {"other_organizer", "co_organizer", "owner", "admin"},
    EVENT_CREATOR: {"other_organizer", "owner", "admin"},
    EVENT_ORGANIZER: {"co_organizer", "owner", "admin"},
    EVENT_OWNER: {"owner", "admin"},
    ADMIN: {"admin"},
}

# (method, path) -> required role. HEAD goes with its GET; "WS" is the WebSocket; "MOUNT" a mount.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # SKYSLOTS_METRICS_TOKEN (unset here) makes it need a token
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("MOUNT", "/static"): PUBLIC,
    ("POST", "/api/auth/token"): PUBLIC,
    ("GET", "/api/auth/me"): SIGNED_IN,
    ("GET", "/api/airports/{icao}"): PUBLIC,
    # events
    ("GET", "/api/events"): PUBLIC,
    ("GET", "/api/events/{event_id}"): PUBLIC,
    ("POST", "/api/events"): EVENT_CREATOR,
    ("PATCH", "/api/events/{event_id}"): EVENT_ORGANIZER,
    ("DELETE", "/api/events/{event_id}"): EVENT_OWNER,
    ("GET", "/api/events/{event_id}/state"): PUBLIC,
    ("WS", "/ws/events/{event_id:int}"): PUBLIC,
    # organizers
    ("GET", "/api/events/{event_id}/organizers"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/organizers"): EVENT_OWNER,
    ("DELETE", "/api/events/{event_id}/organizers/{user_id}"): EVENT_OWNER,
    # slots
    ("POST", "/api/events/{event_id}/slots"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/slots/bulk"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/slots/lock"): EVENT_ORGANIZER,
    ("PATCH", "/api/slots/{slot_id}"): EVENT_ORGANIZER,
    ("DELETE", "/api/slots/{slot_id}"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/slots/generate"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/slots/import"): EVENT_ORGANIZER,
    ("GET", "/api/events/{event_id}/slots.csv"): EVENT_ORGANIZER,
    # bookings, holds, waitlist
    ("POST", "/api/slots/{slot_id}/book"): PUBLIC,
    ("POST", "/api/slots/{slot_id}/assign"): EVENT_ORGANIZER,
    ("POST", "/api/bookings/{booking_id}/release"): EVENT_ORGANIZER,  # or the booker's token
    ("POST", "/api/bookings/{booking_id}/confirm"): TOKEN,
    ("GET", "/api/events/{event_id}/bookings"): EVENT_ORGANIZER,
    ("POST", "/api/bookings/{booking_id}/move"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/bookings/release-all"): EVENT_ORGANIZER,
    ("POST", "/api/slots/{slot_id}/hold"): PUBLIC,
    ("DELETE", "/api/holds/{hold_id}"): TOKEN,
    ("POST", "/api/events/{event_id}/waitlist"): PUBLIC,
    ("GET", "/api/waitlist/{entry_id}"): TOKEN,
    ("DELETE", "/api/waitlist/{entry_id}"): TOKEN,
    ("POST", "/api/waitlist/{entry_id}/accept"): TOKEN,
    ("GET", "/api/events/{event_id}/waitlist"): EVENT_ORGANIZER,
    # audit, deliveries, webhooks
    ("GET", "/api/events/{event_id}/audit"): EVENT_ORGANIZER,
    ("GET", "/api/events/{event_id}/deliveries"): EVENT_ORGANIZER,
    ("POST", "/api/deliveries/{delivery_id}/retry"): EVENT_ORGANIZER,
    ("POST", "/api/events/{event_id}/webhooks"): EVENT_ORGANIZER,
    ("GET", "/api/events/{event_id}/webhooks"): EVENT_ORGANIZER,
    ("DELETE", "/api/webhooks/{webhook_id}"): EVENT_ORGANIZER,
    ("POST", "/api/webhooks/{webhook_id}/test"): EVENT_ORGANIZER,
    # calendars, exports, stored files
    ("GET", "/api/events/{event_id}/calendar.ics"): PUBLIC,
    ("GET", "/api/bookings/{booking_id}/calendar.ics"): TOKEN,
    ("GET", "/api/events/{event_id}/roster.png"): PUBLIC,
    ("POST", "/api/events/{event_id}/exports"): EVENT_ORGANIZER,
    ("GET", "/api/events/{event_id}/exports"): EVENT_ORGANIZER,
    ("GET", "/api/exports/{export_id}"): EVENT_ORGANIZER,
    ("GET", "/files/{key:path}"): TOKEN,  # the signed URL is the token
    # privacy
    ("GET", "/api/me/data"): SIGNED_IN,
    ("DELETE", "/api/me"): SIGNED_IN,  # called last: it deletes the caller (the owner: 409)
    ("GET", "/api/bookings/{booking_id}/data"): TOKEN,
    ("DELETE", "/api/bookings/{booking_id}/personal-data"): TOKEN,
    ("GET", "/privacy"): PUBLIC,
    ("GET", "/account"): SIGNED_IN,
    ("POST", "/account/delete"): SIGNED_IN,  # with a wrong confirmation: nobody is deleted
    ("GET", "/bookings/{booking_id}/data"): TOKEN,
    ("POST", "/bookings/{booking_id}/personal-data"): TOKEN,
    # my bookings, the personal calendar feed
    ("GET", "/api/me/bookings"): SIGNED_IN,
    ("POST", "/api/me/calendar"): SIGNED_IN,
    ("DELETE", "/api/me/calendar"): SIGNED_IN,
    ("GET", "/api/me/calendar/{token}.ics"): TOKEN,  # the feed's secret address is the token
    ("GET", "/me/bookings"): SIGNED_IN,
    ("POST", "/me/calendar"): SIGNED_IN,
    ("POST", "/me/bookings/{booking_id}/release"): EVENT_ORGANIZER,  # or its signed-in booker
    # feature flags
    ("GET", "/api/features"): PUBLIC,
    ("PUT", "/api/features/{name}"): ADMIN,
    ("DELETE", "/api/features/{name}"): ADMIN,
    ("GET", "/organizer/features"): ADMIN,
    ("POST", "/organizer/features/{name}"): ADMIN,
    # personal API tokens
    ("POST", "/api/me/tokens"): ORGANIZER_AREA,
    ("GET", "/api/me/tokens"): ORGANIZER_AREA,
    ("DELETE", "/api/me/tokens/{token_id}"): ORGANIZER_AREA,
    # public pages
    ("GET", "/"): PUBLIC,
    ("GET", "/events/{event_id}"): PUBLIC,
    ("GET", "/events/{event_id}/roster"): PUBLIC,
    ("POST", "/events/{event_id}/book/{slot_id}"): PUBLIC,
    ("GET", "/bookings/{booking_id}/manage"): TOKEN,
    ("POST", "/bookings/{booking_id}/manage"): TOKEN,
    ("GET", "/bookings/{booking_id}/confirm"): TOKEN,
    ("POST", "/bookings/{booking_id}/confirm"): TOKEN,
    ("POST", "/events/{event_id}/waitlist"): PUBLIC,
    ("GET", "/waitlist/{entry_id}"): TOKEN,
    ("POST", "/waitlist/{entry_id}"): TOKEN,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/auth/vatsim/login"): PUBLIC,  # with VATSIM configured (world_app): to VATSIM
    ("GET", "/auth/vatsim/callback"): PUBLIC,  # without a flow: the 400 "start again" page
    # organizer pages
    ("GET", "/organizer"): ORGANIZER_AREA,
    ("GET", "/organizer/tokens"): ORGANIZER_AREA,
    ("POST", "/organizer/tokens"): ORGANIZER_AREA,
    ("POST", "/organizer/tokens/{token_id}/revoke"): ORGANIZER_AREA,
    ("GET", "/organizer/events/new"): EVENT_CREATOR,
    ("POST", "/organizer/events/new"): EVENT_CREATOR,
    ("GET", "/organizer/events/{event_id}"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/edit"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/edit"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/status"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/slots"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/slots/bulk"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/slots/lock"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/slots/generate"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/slots/generate"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/slots/import"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/slots/import"): EVENT_ORGANIZER,
    ("POST", "/organizer/slots/{slot_id}"): EVENT_ORGANIZER,
    ("GET", "/organizer/slots/{slot_id}/assign"): EVENT_ORGANIZER,
    ("POST", "/organizer/slots/{slot_id}/assign"): EVENT_ORGANIZER,
    ("POST", "/organizer/bookings/{booking_id}/release"): EVENT_ORGANIZER,
    ("GET", "/organizer/bookings/{booking_id}/move"): EVENT_ORGANIZER,
    ("POST", "/organizer/bookings/{booking_id}/move"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/bookings"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/bookings/release-all"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/bookings/release-all"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/audit"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/waitlist"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/deliveries"): EVENT_ORGANIZER,
    ("POST", "/organizer/deliveries/{delivery_id}/retry"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/exports"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/exports"): EVENT_ORGANIZER,
    ("GET", "/organizer/events/{event_id}/organizers"): EVENT_ORGANIZER,
    ("POST", "/organizer/events/{event_id}/organizers"): EVENT_OWNER,
    ("POST", "/organizer/events/{event_id}/organizers/{user_id}/remove"): EVENT_OWNER,
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, included routers' routes with their full paths."""
    listed: list[Any] = (
        list(iter_route_contexts(app.routes)) if iter_route_contexts else list(app.routes)
    )
    found = []
    for route in listed:
        original = getattr(route, "original_route", route)
        if isinstance(original, WebSocketRoute):
            found.append(("WS", route.path))
        elif isinstance(original, Mount):
            found.append(("MOUNT", route.path))
        else:
            assert isinstance(original, APIRoute) or route.methods, f"unknown route {route!r}"
            found += [(m, route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


def test_every_route_has_an_entry(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}"
    app = create_app(Settings(database_url=url, secret_key="k" * 40, env="test"))
    served = app_routes(app)
    assert len(served) > 80, "the enumeration went quiet: it must see every route"
    missing = sorted(set(served) - set(ROUTES))
    assert not missing, f"routes without a required role in ROUTES: {missing}"
    stale = sorted(set(ROUTES) - set(served))
    assert not stale, f"ROUTES names routes the app no longer serves: {stale}"


def test_a_new_route_without_an_entry_is_caught(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}"
    app = create_app(Settings(database_url=url, secret_key="k" * 40, env="test"))
    router = APIRouter(prefix="/api/events/{event_id}")

    @router.post("/secrets")
    async def secrets(event_id: int) -> None: ...  # pragma: no cover - never called

    app.include_router(router)
    assert set(app_routes(app)) - set(ROUTES) == {("POST", "/api/events/{event_id}/secrets")}


# --- calling every route as every actor -------------------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Actor:
    name: str
    client: httpx.AsyncClient
    account: Account | None
    csrf: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.account.headers) if self.account else {}


@dataclass
class Target:
    """A fresh published event of the owner's (with the co-organizer), and what is in it."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    title: str = ""
    file_url: str = ""


def refused(response: httpx.Response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.headers.get("location", "")
    return response.status_code == 303 and location.startswith("/login")


class World:
    def __init__(self, app: FastAPI, db: Database, people: dict[str, Account]) -> None:
        self.app, self.db, self.people = app, db, people
        self.owner = people["owner"]
        self.sentinel_event = 0
        self.sentinels = 0
        self.spare: Account | None = None  # never an actor: its calendar feed stays as made
        self.feed_token = ""
        transport = httpx.ASGITransport(app=app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def api(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, headers=self.owner.headers, **kwargs)
        assert response.status_code in (200, 201, 202), (path, response.text)
        return response.json()

    async def target(self, actor: Actor) -> Target:
        start = event_start()
        title = f"Rush {len(self.people)}"
        event = await self.api("POST", "/api/events", json=event_body(title=title))
        eid = event["id"]
        await self.api("POST", f"/api/events/{eid}/organizers", json={"email": self.co.email})
        slots = await self.api(
            "POST",
            f"/api/events/{eid}/slots/bulk",
            json=[
                {"position_name": f"EGLL-KJFK {i:04d}", "position_type": "PILOT"} for i in range(4)
            ]
            + [
                {
                    "position_name": "EGLL_TWR",
                    "start_time": start.isoformat(),
                    "end_time": (start + timedelta(hours=2)).isoformat(),
                }
            ],
        )
        free, booked, held, spare = (s["id"] for s in slots[:4])
        booking = await self.api(
            "POST", f"/api/slots/{booked}/book", json=booking_body("BAW1", email="b@example.com")
        )
        await self.sentinel_booking()
        hold = await self.api("POST", f"/api/slots/{held}/hold")
        entry = await self.api(
            "POST",
            f"/api/events/{eid}/waitlist",
            json={"pilot_name": "Wait Er", "pilot_callsign": "BAW2", "slot_id": booked},
        )
        hook = await self.api(
            "POST",
            f"/api/events/{eid}/webhooks",
            json={"url": "http://127.0.0.1:9/hook", "events": ["booking.moved"]},
        )
        delivery = OutboxMessage(
            event_id=eid, kind="mail.booking_confirmation", target="b@example.com",
            payload={}, dedupe_key=f"authz-{uuid.uuid4().hex}", status="dead",
        )  # fmt: skip
        await self.db.transaction(_add, row=delivery)
        export = await self.api("POST", f"/api/events/{eid}/exports", json={"format": "csv"})
        key = f"authz/{uuid.uuid4().hex}/file.txt"
        storage = self.app.state.storage
        await storage.put(key, b"stored", content_type="text/plain")
        signed = httpx.URL(storage.download_url(key))
        token_owner = actor if actor.account and actor.name != "member" else None
        token = await (token_owner.client if token_owner else self.http).post(
            "/api/me/tokens",
            json={"name": "script", "scope": "read"},
            headers=(token_owner.headers if token_owner else self.owner.headers),
        )
        assert token.status_code == 201, token.text
        if not self.feed_token:
            assert self.spare is not None
            made = await self.http.post("/api/me/calendar", headers=self.spare.headers)
            assert made.status_code == 200, made.text
            self.feed_token = made.json()["url"].rsplit("/", 1)[1].removesuffix(".ics")
        return Target(
            ids={
                "event_id": eid, "slot_id": free, "booked_slot": booked, "spare_slot": spare,
                "booking_id": booking["id"], "hold_id": hold["hold_id"],
                "entry_id": entry["id"], "webhook_id": hook["id"], "delivery_id": delivery.id,
                "user_id": self.co.id, "token_id": token.json()["id"],
                "export_id": export["id"],
            },
            file_url=f"{signed.path}?{signed.query.decode()}",
            tokens={
                "booking": booking["manage_token"], "hold": hold["hold_token"],
                "entry": entry["manage_token"], "feed": self.feed_token,
            },
            title=title,
        )  # fmt: skip

    async def sentinel_booking(self) -> None:
        """A booking in an event no call deletes, made after the target's: SQLite reuses the
        highest row ids once they are deleted, and a reused booking id meets its predecessor's
        outbox row (`booking.confirmed:<id>`, kept without a foreign key) -- a 500."""
        if not self.sentinel_event:
            self.sentinel_event = (await self.api("POST", "/api/events", json=event_body()))["id"]
        self.sentinels += 1
        name = f"EGLL-LFPG {self.sentinels:04d}"
        [slot] = await self.api(
            "POST",
            f"/api/events/{self.sentinel_event}/slots/bulk",
            json=[{"position_name": name, "position_type": "PILOT"}],
        )
        await self.api(
            "POST",
            f"/api/slots/{slot['id']}/book",
            json=booking_body(f"SEN{self.sentinels}", email=f"s{self.sentinels}@example.com"),
        )

    @property
    def co(self) -> Account:
        return self.people["co_organizer"]


async def _add(session: Any, *, row: Any) -> None:
    session.add(row)
    await session.flush()


def _form(actor: Actor, **values: str) -> dict[str, str]:
    return {"csrf_token": actor.csrf, **values}


def request_for(method: str, path: str, actor: Actor, t: Target) -> tuple[str, str, dict[str, Any]]:
    """The URL and keyword arguments of a valid call to this route as this actor."""
    if path == "/files/{key:path}":
        return method, t.file_url, {}
    url = path.replace("{event_id:int}", "{event_id}").replace("{icao}", "EGLL")
    url = url.replace("{name}", "rate_limits")  # a flag; the admin's calls turn it on, or reset it
    ids = dict(t.ids)
    url = url.format(**ids, token=t.tokens["feed"])
    api = path.startswith("/api/")
    kwargs: dict[str, Any] = {"headers": actor.headers if api else {}}
    start = event_start()
    body: Callable[[], Any] | None = {
        ("POST", "/api/auth/token"): lambda: {"data": {"username": "owner@example.com", "password": PASSWORD}},
        ("POST", "/api/events"): lambda: {"json": event_body()},
        ("PATCH", "/api/events/{event_id}"): lambda: {"json": {"title": "Renamed"}},
        ("POST", "/api/events/{event_id}/organizers"): lambda: {"json": {"email": "spare@example.com"}},
        ("POST", "/api/events/{event_id}/slots"): lambda: {"json": {"position_name": "EGLL-EDDF 0001", "position_type": "PILOT"}},
        ("POST", "/api/events/{event_id}/slots/bulk"): lambda: {"json": [{"position_name": "EGLL-EDDF 0002", "position_type": "PILOT"}]},
        ("POST", "/api/events/{event_id}/slots/lock"): lambda: {"json": {"slot_ids": [ids["slot_id"]], "locked": True}},
        ("PATCH", "/api/slots/{slot_id}"): lambda: {"json": {"notes": "n"}},
        ("POST", "/api/events/{event_id}/slots/generate"): lambda: {"json": {"kind": "atc", "positions": ["EGLL_APP"], "block_minutes": 120}},
        ("POST", "/api/events/{event_id}/slots/import"): lambda: {"content": b"position_name\nEGLL_GND\n", "headers": {**kwargs["headers"], "Content-Type": "text/csv"}},
        ("POST", "/api/slots/{slot_id}/book"): lambda: {"json": booking_body("BAW9")},
        ("POST", "/api/slots/{slot_id}/assign"): lambda: {"json": booking_body("BAW8")},
        ("POST", "/api/bookings/{booking_id}/confirm"): lambda: {"json": {"token": t.tokens["booking"]}},
        ("POST", "/api/bookings/{booking_id}/move"): lambda: {"json": {"slot_id": ids["spare_slot"]}},
        ("POST", "/api/events/{event_id}/bookings/release-all"): lambda: {"json": {"confirm": t.title}},
        ("DELETE", "/api/holds/{hold_id}"): lambda: {"headers": {**kwargs["headers"], "X-Hold-Token": t.tokens["hold"]}},
        ("POST", "/api/events/{event_id}/waitlist"): lambda: {"json": {"pilot_name": "W", "pilot_callsign": "BAW7", "slot_id": ids["booked_slot"]}},
        ("GET", "/api/waitlist/{entry_id}"): lambda: {"headers": {**kwargs["headers"], "X-Manage-Token": t.tokens["entry"]}},
        ("DELETE", "/api/waitlist/{entry_id}"): lambda: {"headers": {**kwargs["headers"], "X-Manage-Token": t.tokens["entry"]}},
        ("POST", "/api/waitlist/{entry_id}/accept"): lambda: {"headers": {**kwargs["headers"], "X-Manage-Token": t.tokens["entry"]}},
        ("POST", "/api/events/{event_id}/webhooks"): lambda: {"json": {"url": "http://127.0.0.1:9/h", "events": ["booking.moved"]}},
        ("PUT", "/api/features/{name}"): lambda: {"json": {"enabled": True}},
        ("POST", "/organizer/features/{name}"): lambda: {"data": _form(actor, action="on")},
        ("POST", "/api/me/tokens"): lambda: {"json": {"name": "x", "scope": "read"}},
        ("POST", "/events/{event_id}/book/{slot_id}"): lambda: {"data": _form(actor, pilot_name="Jane", pilot_callsign="BAW6")},
        ("GET", "/bookings/{booking_id}/manage"): lambda: {"params": {"token": t.tokens["booking"]}},
        ("GET", "/api/bookings/{booking_id}/calendar.ics"): lambda: {"params": {"token": t.tokens["booking"]}},
        ("GET", "/api/bookings/{booking_id}/data"): lambda: {"headers": {**kwargs["headers"], "X-Manage-Token": t.tokens["booking"]}},
        ("DELETE", "/api/bookings/{booking_id}/personal-data"): lambda: {"headers": {**kwargs["headers"], "X-Manage-Token": t.tokens["booking"]}},
        ("GET", "/bookings/{booking_id}/data"): lambda: {"params": {"token": t.tokens["booking"]}},
        ("POST", "/bookings/{booking_id}/personal-data"): lambda: {"data": _form(actor, token=t.tokens["booking"])},
        ("POST", "/account/delete"): lambda: {"data": _form(actor, confirm="not my email")},
        ("POST", "/me/calendar"): lambda: {"data": _form(actor, action="on")},
        ("POST", "/api/events/{event_id}/exports"): lambda: {"json": {"format": "pdf"}},
        ("POST", "/organizer/events/{event_id}/exports"): lambda: {"data": _form(actor, format="csv")},
        ("POST", "/bookings/{booking_id}/manage"): lambda: {"data": _form(actor, token=t.tokens["booking"])},
        ("GET", "/bookings/{booking_id}/confirm"): lambda: {"params": {"token": t.tokens["booking"]}},
        ("POST", "/bookings/{booking_id}/confirm"): lambda: {"data": _form(actor, token=t.tokens["booking"])},
        ("POST", "/events/{event_id}/waitlist"): lambda: {"data": _form(actor, pilot_name="W", pilot_callsign="BAW5", slot_id=str(ids["booked_slot"]))},
        ("GET", "/waitlist/{entry_id}"): lambda: {"params": {"token": t.tokens["entry"]}},
        ("POST", "/waitlist/{entry_id}"): lambda: {"data": _form(actor, token=t.tokens["entry"], action="leave")},
        ("POST", "/login"): lambda: {"data": _form(actor, email="owner@example.com", password=PASSWORD, next="")},
        ("POST", "/organizer/tokens"): lambda: {"data": _form(actor, name="x", scope="read")},
        ("POST", "/organizer/events/new"): lambda: {"data": _form(actor, **_event_form(start))},
        ("POST", "/organizer/events/{event_id}/edit"): lambda: {"data": _form(actor, **_event_form(start))},
        ("POST", "/organizer/events/{event_id}/status"): lambda: {"data": _form(actor, action="unpublish")},
        ("POST", "/organizer/events/{event_id}/slots"): lambda: {"data": _form(actor, position_name="EGLL-EDDF 0003", position_type="PILOT")},
        ("POST", "/organizer/events/{event_id}/slots/bulk"): lambda: {"data": _form(actor, kind="pilot", lines="EGLL-EDDF 0004")},
        ("POST", "/organizer/events/{event_id}/slots/lock"): lambda: {"data": _form(actor, action="lock", slot_ids=str(ids["slot_id"]))},
        ("POST", "/organizer/events/{event_id}/slots/generate"): lambda: {"data": _form(actor, kind="atc", positions="EGLL_APP", block_minutes="120", action="preview")},
        ("POST", "/organizer/events/{event_id}/slots/import"): lambda: {"data": _form(actor, action="check"), "files": {"file": ("a.csv", b"position_name\nEGLL_GND\n", "text/csv")}},
        ("POST", "/organizer/slots/{slot_id}"): lambda: {"data": _form(actor, action="lock")},
        ("POST", "/organizer/slots/{slot_id}/assign"): lambda: {"data": _form(actor, pilot_name="Jane", pilot_callsign="BAW4")},
        ("POST", "/organizer/bookings/{booking_id}/move"): lambda: {"data": _form(actor, slot_id=str(ids["spare_slot"]))},
        ("POST", "/organizer/events/{event_id}/bookings/release-all"): lambda: {"data": _form(actor, confirm=t.title)},
        ("POST", "/organizer/events/{event_id}/organizers"): lambda: {"data": _form(actor, email="spare@example.com")},
    }.get((method, path))  # fmt: skip
    if body is not None:
        kwargs.update(body())
    elif method == "POST" and not api:
        kwargs["data"] = _form(actor)  # every page POST carries the session's CSRF token
    return method, url, kwargs


def _event_form(start: Any) -> dict[str, str]:
    return {
        "title": "Formed", "airport_icao": "EGLL", "timezone": "Europe/London",
        "start_datetime": start.strftime("%Y-%m-%dT%H:%M"),
        "end_datetime": (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
        "description": "", "status": "draft",
    }  # fmt: skip


async def socket_answer(app: FastAPI, event_id: int) -> str:
    """Open /ws/events/{id} on the ASGI app: "accepted" with a snapshot, or "closed"."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []
    await inbox.put({"type": "websocket.connect"})
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] in ("websocket.send", "websocket.close"):
            done.set()

    scope = {
        "type": "websocket", "path": f"/ws/events/{event_id}", "raw_path": b"", "query_string": b"",
        "headers": [(b"host", b"testserver")], "scheme": "ws", "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234), "subprotocols": [], "root_path": "", "app": app,
        "asgi": {"version": "3.0"},
    }  # fmt: skip
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(done.wait(), 10)
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(task, 10)
    kinds = [m["type"] for m in sent]
    return "accepted" if "websocket.send" in kinds else "closed"


@pytest.fixture
async def world_app(sqlite_url: str, tmp_path: Path) -> Any:
    """SQLite only: some 600 calls take a minute, and the check under test is engine-neutral
    (the co-organizer query runs on both engines in tests/test_organizers.py)."""
    settings = make_settings(
        sqlite_url,
        tmp_path,
        webhooks_allow_private=True,
        # VATSIM sign-in on (never reached: the redirect is only looked at), so its routes answer
        vatsim_client_id="skyslots-test",
        vatsim_client_secret="s3cret",
        vatsim_base_url="http://127.0.0.1:9",
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        yield application


async def test_every_route_answers_each_actor_as_its_table_says(world_app: FastAPI) -> None:
    db: Database = world_app.state.database
    transport = httpx.ASGITransport(app=world_app)
    setup = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    people = {
        "member": await make_account(db, setup, email="member@example.com", role=Role.MEMBER),
        "other_organizer": await make_account(db, setup, email="other@example.com"),
        "co_organizer": await make_account(db, setup, email="co@example.com", role=Role.MEMBER),
        "owner": await make_account(db, setup, email="owner@example.com"),
        "admin": await make_account(db, setup, email="admin@example.com", role=Role.ADMIN),
    }
    # Made a co-organizer by the calls that add one (never an actor, so nobody's rights move).
    spare = await make_account(db, setup, email="spare@example.com", role=Role.MEMBER)
    world = World(world_app, db, people)
    world.spare = spare
    # The other organizer has an event of their own; the co-organizer starts on one too, so the
    # organizer area is open to them before the first target event exists.
    other = people["other_organizer"]
    await setup.post("/api/events", json=event_body(), headers=other.headers)
    actors = []
    for name in ACTORS:
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        account = people.get(name)
        actor = Actor(name, client, account)
        if account is not None:
            login = await client.get("/login")
            token = CSRF.search(login.text).group(1)  # type: ignore[union-attr]
            signed = await client.post(
                "/login", data={"email": account.email, "password": PASSWORD, "csrf_token": token, "next": ""}
            )  # fmt: skip
            assert signed.status_code == 303, signed.text
        actors.append(actor)

    wrong: list[str] = []
    shared: dict[str, Target] = {}
    # DELETE /api/me deletes the caller: last, so every other call still has its actor.
    routes = sorted(set(app_routes(world_app)), key=lambda r: (r == ("DELETE", "/api/me"), r))
    for method, path in routes:
        role = ROUTES[(method, path)]
        for actor in actors:
            # Reads share one target per actor; every write gets fresh objects.
            # DELETE /api/me needs no objects (and, run last, no co-organizer left to add).
            reads = method in ("GET", "WS", "MOUNT") or (method, path) == ("DELETE", "/api/me")
            if not reads or actor.name not in shared:
                target = await world.target(actor)
                if reads:
                    shared[actor.name] = target
            target = shared[actor.name] if reads else target
            if method == "WS":
                answer = await socket_answer(world_app, target.ids["event_id"])
                ok = answer == "accepted"
            else:
                saved = dict(actor.client.cookies)
                page = await actor.client.get("/login" if actor.account is None else "/api/auth/me")
                if actor.account is None:
                    actor.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                else:
                    home = await actor.client.get(f"/events/{target.ids['event_id']}")
                    actor.csrf = CSRF.search(home.text).group(1)  # type: ignore[union-attr]
                if method == "MOUNT":
                    response = await actor.client.get(f"{path}/app.css")
                else:
                    verb, url, kwargs = request_for(method, path, actor, target)
                    response = await actor.client.request(verb, url, **kwargs)
                actor.client.cookies.clear()
                for key, value in saved.items():
                    actor.client.cookies.set(key, value)
                assert response.status_code < 500, (method, path, actor.name, response.text)
                ok = not refused(response)
                answer = f"{response.status_code} {response.text[:120]!r}"
            expected = actor.name in ALLOWED[role]
            if ok != expected:
                verdict = "allowed" if ok else "refused"
                wrong.append(f"{method} {path} as {actor.name} ({role}): {verdict}: {answer}")
    assert not wrong, "\n".join(wrong)
