"""Sign in with VATSIM Connect against a real local authorization server (tests/vatsim_server.py).

In-process (SQLite and PostgreSQL): the profile's shape, finding/linking/creating accounts, the
redirect URL, the button only when configured, VATSIM unreachable. Against a real
`skyslots serve`: the whole sign-in in Chromium (then booking through the page's script with the
session, and a second sign-in that refreshes the rating), a numeric CID, state mismatch, the
PKCE verifier, denied consent and a failing token endpoint.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.service import user_create
from skyslots.app import create_app
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.errors import Conflict
from skyslots.migrate import migrate
from skyslots.models import Role, User
from skyslots.vatsim.profile import ProfileInvalid, VatsimProfile, parse_profile
from skyslots.vatsim.service import user_from_vatsim
from tests import test_web_ui as ui
from tests.conftest import empty_tables, make_settings
from tests.helpers import PASSWORD
from tests.servers import free_port, server_env, start_server
from tests.test_web_ui import Site, expect, open_event, slot
from tests.vatsim_server import Member, VatsimServer, running_vatsim

browser, new_page = ui.browser, ui.new_page
ORGANIZER = "organizer@example.com"
STRING_CID, NUMBER_CID = "1000001", 1234567


def profile(cid: int = 1000001, **fields: Any) -> VatsimProfile:
    values: dict[str, Any] = {
        "name": "Web One",
        "email": "one@example.com",
        "rating_id": 2,
        "rating_short": "S1",
        "division_id": "EUD",
        **fields,
    }
    return VatsimProfile(cid=cid, **values)


# --- the profile ------------------------------------------------------------------------------


def test_the_user_json_is_read_with_a_string_or_a_number_cid() -> None:
    member = Member(STRING_CID, "Web  One", "One@Example.com", 5, "C1", division="EUD")
    read = parse_profile(member.user_json())
    assert read == VatsimProfile(1000001, "Web One", "one@example.com", 5, "C1", "EUD")
    numeric = parse_profile(Member(NUMBER_CID, "Num Ber", "n@example.com", 1, "OBS").user_json())
    assert numeric.cid == NUMBER_CID and numeric.rating_short == "OBS"
    bare = parse_profile({"data": {"cid": 42}})
    assert bare == VatsimProfile(42, "VATSIM 42", None, None, None, None)
    for payload in ({}, {"cid": 1}, {"data": {"cid": "abc"}}, {"data": {"cid": True}}, []):
        with pytest.raises(ProfileInvalid):
            parse_profile(payload)


def test_a_client_id_without_its_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SKYSLOTS_VATSIM_CLIENT_SECRET must be set"):
        Settings(data_dir=tmp_path, vatsim_client_id="skyslots")
    assert not Settings(data_dir=tmp_path, vatsim_client_id="").vatsim_enabled
    assert not Settings(data_dir=tmp_path).public_url_is_set
    assert Settings(data_dir=tmp_path, public_url="https://slots.example.org").public_url_is_set


# --- accounts, on both engines ----------------------------------------------------------------


async def test_a_member_is_created_then_refreshed_by_cid(db: Database) -> None:
    created = await db.transaction(user_from_vatsim, profile=profile())
    assert (created.vatsim_id, created.role, created.password_hash) == (1000001, "member", None)
    assert (created.name, created.email, created.rating_id, created.rating_short) == (
        "Web One",
        "one@example.com",
        2,
        "S1",
    )
    again = await db.transaction(
        user_from_vatsim,
        profile=profile(name="Web Uno", email="uno@example.com", rating_id=3, rating_short="S2"),
    )
    assert again.id == created.id
    stored = await db.read(lambda s: s.get(User, created.id))
    assert (stored.name, stored.email, stored.rating_id, stored.rating_short) == (
        "Web Uno",
        "uno@example.com",
        3,
        "S2",
    )


async def test_an_account_with_the_email_is_linked_and_keeps_its_role(db: Database) -> None:
    staff = await db.transaction(
        user_create,
        data=UserCreate(
            email="Staff@example.com", name="Staff", role=Role.ORGANIZER, password=PASSWORD
        ),
    )
    linked = await db.transaction(user_from_vatsim, profile=profile(email="staff@example.com"))
    assert (linked.id, linked.vatsim_id, linked.role) == (staff.id, 1000001, "organizer")
    assert linked.password_hash  # email/password still works for organizers


async def test_email_clashes_are_refused_or_kept_never_a_500(db: Database) -> None:
    await db.transaction(user_from_vatsim, profile=profile(cid=1000001, email="a@example.com"))
    with pytest.raises(Conflict) as taken:  # a's email, but another CID
        await db.transaction(user_from_vatsim, profile=profile(cid=1000002, email="a@example.com"))
    assert taken.value.code == "vatsim_email_taken" and taken.value.status_code == 409
    b = await db.transaction(user_from_vatsim, profile=profile(cid=1000003, email="b@example.com"))
    # b changed their VATSIM email to a's: b keeps b's address, the rest is refreshed
    moved = await db.transaction(
        user_from_vatsim, profile=profile(cid=1000003, email="a@example.com", rating_id=7)
    )
    assert (moved.id, moved.email, moved.rating_id) == (b.id, "b@example.com", 7)
    with pytest.raises(Conflict) as no_email:
        await db.transaction(user_from_vatsim, profile=profile(cid=1000004, email=None))
    assert no_email.value.code == "vatsim_email_missing"


# --- the app in-process: configuration and the redirect --------------------------------------


@dataclass
class App:
    app: FastAPI
    client: httpx.AsyncClient


async def started(database_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[App]:
    application = create_app(make_settings(database_url, tmp_path, **overrides))
    async with application.router.lifespan_context(application):
        await empty_tables(application.state.database)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield App(application, http)


VATSIM_ON = {"vatsim_client_id": "skyslots-test", "vatsim_client_secret": "s3cret"}


async def test_the_button_shows_only_when_configured(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    login = await client.get("/login")
    assert "Sign in with VATSIM" not in login.text and "Organizer sign in" in login.text
    assert "Organizer sign in" in (await client.get("/")).text
    off = await client.get("/auth/vatsim/login", follow_redirects=False)
    assert off.status_code == 404
    async for on in started(database_url, tmp_path / "on", **VATSIM_ON):
        page = (await on.client.get("/login?next=/events/7")).text
        assert 'href="/auth/vatsim/login?next=/events/7"' in page
        assert "Sign in with VATSIM" in page
        plain = (await on.client.get("/login")).text  # members land on the home page
        assert 'href="/auth/vatsim/login?next=/"' in plain


async def test_the_redirect_url_follows_public_url_only_when_set(
    database_url: str, tmp_path: Path
) -> None:
    async for fromrequest in started(database_url, tmp_path / "a", **VATSIM_ON):
        answer = await fromrequest.client.get(
            "/auth/vatsim/login", params={"next": "//evil.example"}
        )
        assert answer.status_code == 303
        target = urlparse(answer.headers["location"])
        query = {k: v[0] for k, v in parse_qs(target.query).items()}
        assert (
            f"{target.scheme}://{target.netloc}{target.path}"
            == "https://auth.vatsim.net/oauth/authorize"
        )
        assert query["redirect_uri"] == "http://testserver/auth/vatsim/callback"
        assert query["scope"] == "full_name email vatsim_details"
        assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
        assert query["client_id"] == "skyslots-test" and len(query["state"]) >= 32
        cookie = answer.headers["set-cookie"]
        assert "skyslots_vatsim=" in cookie and "Path=/auth/vatsim" in cookie
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=600" in cookie
    settings = {
        **VATSIM_ON,
        "public_url": "https://slots.example.org/",
        "vatsim_base_url": "https://auth-dev.vatsim.net/",
    }
    async for configured in started(database_url, tmp_path / "b", **settings):
        answer = await configured.client.get("/auth/vatsim/login")
        query = parse_qs(urlparse(answer.headers["location"]).query)
        assert answer.headers["location"].startswith("https://auth-dev.vatsim.net/oauth/authorize?")
        assert query["redirect_uri"] == ["https://slots.example.org/auth/vatsim/callback"]


async def test_vatsim_unreachable_gives_a_friendly_page(database_url: str, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async for app in started(database_url, tmp_path, vatsim_base_url=closed, **VATSIM_ON):
        start = await app.client.get("/auth/vatsim/login")
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        answer = await app.client.get("/auth/vatsim/callback", params={"code": "x", "state": state})
        assert answer.status_code == 502
        assert "VATSIM Connect is not answering right now" in answer.text
        assert "Max-Age=0" in answer.headers["set-cookie"]  # the flow is spent
        assert (await app.client.get("/api/auth/me")).status_code == 401


async def test_the_callback_counts_against_the_sign_in_limit_per_address(
    database_url: str, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    limits = {"rate_limits": "signin_per_address=2/minute", "vatsim_base_url": closed}
    async for app in started(database_url, tmp_path, **limits, **VATSIM_ON):
        answers = []
        for _ in range(3):
            start = await app.client.get("/auth/vatsim/login")
            state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
            answers.append(
                await app.client.get("/auth/vatsim/callback", params={"code": "x", "state": state})
            )
        assert [a.status_code for a in answers] == [502, 502, 429]  # VATSIM isn't asked then
        assert "Too many sign-in attempts" in answers[2].text
        assert int(answers[2].headers["retry-after"]) >= 1


# --- a real server, a real authorization server, Chromium -------------------------------------


@dataclass
class World:
    site: Site
    vatsim: VatsimServer
    database: Path

    def users(self, vatsim_id: int) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as connection:
            return connection.execute(
                "SELECT id, name, email, role, rating_id, rating_short, password_hash "
                "FROM users WHERE vatsim_id = ?",
                (vatsim_id,),
            ).fetchall()

    def booking_user(self, booking_id: int) -> int | None:
        with sqlite3.connect(self.database) as connection:
            row = connection.execute("SELECT user_id FROM bookings WHERE id = ?", (booking_id,))
            return row.fetchone()[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path = tmp_path_factory.mktemp("vatsim") / "skyslots.db"
    database_url = f"sqlite+aiosqlite:///{path}"
    migrate(database_url)
    subprocess.run(
        [sys.executable, "-m", "skyslots", "users", "create", "--email", ORGANIZER,
         "--name", "Event Staff", "--role", "organizer", "--password", PASSWORD],
        env=server_env(database_url), check=True, capture_output=True,
    )  # fmt: skip
    with running_vatsim() as vatsim:
        vatsim.members[STRING_CID] = Member(STRING_CID, "Web One", "one@example.com", 2, "S1")
        vatsim.members[str(NUMBER_CID)] = Member(NUMBER_CID, "Num Ber", "num@example.com", 1, "OBS")
        env = {
            "SKYSLOTS_VATSIM_CLIENT_ID": vatsim.client_id,
            "SKYSLOTS_VATSIM_CLIENT_SECRET": vatsim.client_secret,
            "SKYSLOTS_VATSIM_BASE_URL": vatsim.base_url,
            "SKYSLOTS_LOG_LEVEL": "INFO",
        }
        with start_server(database_url, env=env) as server:
            vatsim.redirect_uris.append(f"{server.base_url}/auth/vatsim/callback")
            token = httpx.post(
                f"{server.base_url}/api/auth/token",
                data={"username": ORGANIZER, "password": PASSWORD},
            ).json()["access_token"]
            site = Site(server, database_url, {"Authorization": f"Bearer {token}"})
            yield World(site, vatsim, path)
            log = server.log_tail(400)
            for secret in ("one@example.com", "num@example.com", vatsim.client_secret):
                assert secret not in log, "the server log names an email or the client secret"
            for token_value in vatsim.tokens:
                assert token_value not in log, "the server log names an access token"


def vatsim_sign_in(page: Any, world: World, *, decision: str = "Authorize") -> None:
    """From any SkySlots page: the header's Sign in, the VATSIM button, VATSIM's consent page."""
    page.get_by_role("link", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Sign in with VATSIM").click()
    expect(page.get_by_role("heading", name="Authorize skyslots-test")).to_be_visible()
    page.get_by_role("button", name=decision).click()


@pytest.mark.browser
def test_a_member_signs_in_in_chromium_books_and_is_refreshed(world: World, new_page: Any) -> None:
    site, vatsim = world.site, world.vatsim
    vatsim.signed_in = STRING_CID
    event = site.event(slots=ui.pilot_slots(2), hold_seconds=0)
    page = new_page()
    open_event(page, site, event["id"])

    vatsim_sign_in(page, world)
    expect(page).to_have_url(f"{site.url}/events/{event['id']}")
    expect(page.get_by_text("Welcome, Web One.")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Web One")).to_be_visible()
    expect(nav.get_by_role("link", name="Dashboard")).to_have_count(0)  # a member: no dashboard
    [(user_id, name, email, role, rating_id, rating_short, password)] = world.users(1000001)
    assert (name, email, role, rating_id, rating_short, password) == (
        "Web One", "one@example.com", "member", 2, "S1", None,
    )  # fmt: skip
    authorize = vatsim.authorize_requests[-1]
    assert authorize["scope"] == "full_name email vatsim_details"
    assert authorize["code_challenge_method"] == "S256"
    sent = vatsim.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and sent["code_verifier"]
    assert sent["client_secret"] == vatsim.client_secret

    # The page's script books with the session: the booking is the member's.
    open_event(page, site, event["id"])
    target = event["slots"][0]["id"]
    slot(page, target).get_by_role("link", name=re.compile("^Claim")).click()
    dialog = page.locator("dialog#book")
    expect(dialog.locator("[data-role=booking-as]")).to_contain_text("Booking as Web One (S1)")
    expect(dialog.get_by_label("Your name")).to_have_count(0)  # the account's name is used
    dialog.get_by_label("Callsign").fill("BAW1")
    page.get_by_role("button", name="Claim slot").click()
    expect(page.locator("[data-role=success-view]")).to_be_visible()
    booking = next(b for b in page.request.get(f"{site.url}/api/me/data").json()["bookings"])
    assert world.booking_user(booking["id"]) == user_id
    assert booking["pilot_callsign"] == "BAW1"

    # Signed out, the rating changes at VATSIM; the next sign-in refreshes it.
    page.goto(f"{site.url}/")
    nav.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    vatsim.members[STRING_CID].rating_id, vatsim.members[STRING_CID].rating_short = 5, "C1"
    vatsim.members[STRING_CID].name = "Web Uno"
    vatsim_sign_in(page, world)
    expect(page).to_have_url(f"{site.url}/")
    expect(page.get_by_text("Welcome, Web Uno.")).to_be_visible()
    assert world.users(1000001) == [
        (user_id, "Web Uno", "one@example.com", "member", 5, "C1", None)
    ]


@pytest.mark.browser
def test_denied_consent_returns_to_the_sign_in_page(world: World, new_page: Any) -> None:
    world.vatsim.signed_in = STRING_CID
    page = new_page()
    page.goto(f"{world.site.url}/")
    vatsim_sign_in(page, world, decision="Cancel")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_text("You cancelled signing in with VATSIM.")).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with VATSIM")).to_be_visible()
    assert page.request.get(f"{world.site.url}/api/auth/me").status == 401


# --- the same flow over plain HTTP --------------------------------------------------------------


def authorize(world: World, http: httpx.Client, next_path: str = "/") -> tuple[str, dict[str, str]]:
    """Start at SkySlots and approve at VATSIM: (the callback URL, the authorize query)."""
    start = http.get(f"{world.site.url}/auth/vatsim/login", params={"next": next_path})
    assert start.status_code == 303, start.text
    location = start.headers["location"]
    assert location.startswith(world.vatsim.base_url + "/oauth/authorize?")
    consent = http.get(location)
    assert consent.status_code == 200, consent.text
    decided = http.post(location, data={"decision": "allow"})
    assert decided.status_code == 302, decided.text
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    return decided.headers["location"], query


def test_a_numeric_cid_signs_in_and_lands_on_next(world: World) -> None:
    world.vatsim.signed_in = str(NUMBER_CID)
    with httpx.Client(timeout=10) as http:
        callback, _ = authorize(world, http, next_path="/privacy")
        done = http.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/privacy"
        me = http.get(f"{world.site.url}/api/me/data").json()["user"]
    assert (me["vatsim_id"], me["name"], me["role"], me["has_password"]) == (
        NUMBER_CID, "Num Ber", "member", False,
    )  # fmt: skip
    [(_, _, _, _, rating_id, rating_short, _)] = world.users(NUMBER_CID)
    assert (rating_id, rating_short) == (1, "OBS")


def test_a_state_mismatch_is_refused_and_the_flow_is_one_use(world: World) -> None:
    world.vatsim.signed_in = STRING_CID
    with httpx.Client(timeout=10) as http:
        callback, _ = authorize(world, http)
        forged = re.sub(r"state=[^&]+", "state=forged", callback)
        refused = http.get(forged)
        assert refused.status_code == 400
        assert "expired or was started in another window" in refused.text
        assert 'data-code="vatsim_state_mismatch"' in refused.text
        # The refusal dropped the flow cookie: the genuine callback no longer works either.
        again = http.get(callback)
        assert again.status_code == 400 and "vatsim_state_mismatch" in again.text
        assert http.get(f"{world.site.url}/api/auth/me").status_code == 401
    with httpx.Client(timeout=10) as elsewhere:  # a callback without its browser's cookie
        callback, _ = authorize(world, elsewhere)
        elsewhere.cookies.clear()
        assert elsewhere.get(callback).status_code == 400


def test_the_pkce_verifier_is_checked_by_the_server(world: World) -> None:
    vatsim = world.vatsim
    vatsim.signed_in = STRING_CID
    with httpx.Client(timeout=10) as http:
        callback, query = authorize(world, http)
        code = parse_qs(urlparse(callback).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": query["redirect_uri"],
            "client_id": vatsim.client_id,
            "client_secret": vatsim.client_secret,
        }
        wrong = http.post(
            f"{vatsim.base_url}/oauth/token", data={**form, "code_verifier": "w" * 64}
        )
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        missing = http.post(f"{vatsim.base_url}/oauth/token", data=form)
        assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
        no_challenge = {k: v for k, v in query.items() if not k.startswith("code_challenge")}
        unpkced = http.get(f"{vatsim.base_url}/oauth/authorize", params=no_challenge)
        assert unpkced.status_code == 400 and "PKCE is required" in unpkced.text
        # SkySlots' own verifier (from its flow cookie) is the right one.
        done = http.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert http.get(f"{world.site.url}/api/auth/me").status_code == 200


def test_a_failing_token_endpoint_gives_a_friendly_page(world: World) -> None:
    vatsim = world.vatsim
    vatsim.signed_in = STRING_CID
    with httpx.Client(timeout=10) as http:
        callback, _ = authorize(world, http)
        vatsim.token_status = 503
        try:
            down = http.get(callback)
        finally:
            vatsim.token_status = None
        assert down.status_code == 502 and "not answering right now" in down.text
        assert "Try again" in down.text
        assert http.get(f"{world.site.url}/api/auth/me").status_code == 401


def test_a_code_used_twice_is_refused_politely(world: World) -> None:
    world.vatsim.signed_in = STRING_CID
    with httpx.Client(timeout=10) as http:
        start = http.get(f"{world.site.url}/auth/vatsim/login")
        flow_cookie = http.cookies.get("skyslots_vatsim")
        location = start.headers["location"]
        http.get(location)
        callback = http.post(location, data={"decision": "allow"}).headers["location"]
        assert http.get(callback).status_code == 303
    with httpx.Client(timeout=10) as replay:  # the same cookie and code again
        replay.cookies.set("skyslots_vatsim", flow_cookie or "", path="/auth/vatsim")
        refused = replay.get(callback)
        assert refused.status_code == 400
        assert "VATSIM did not accept this sign-in" in refused.text
        assert replay.get(f"{world.site.url}/api/auth/me").status_code == 401
