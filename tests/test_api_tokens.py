"""Personal API tokens: shown once, stored hashed, read or write, revocable, last use kept."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import sqlalchemy as sa

from skyslots.db import Database, utcnow
from skyslots.models import ApiToken, Role
from tests.helpers import Account, make_account, make_event
from tests.test_web_views import page_csrf, web_login


async def new_token(
    client: httpx.AsyncClient, account: Account, scope: str, name: str = "script"
) -> dict:
    response = await client.post(
        "/api/me/tokens", json={"name": name, "scope": scope}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored(db: Database) -> list[ApiToken]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(sa.select(ApiToken.__table__))
        return [ApiToken(**row._mapping) for row in rows]


async def test_a_token_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    created = await new_token(client, organizer, "write", name="  n8n   flow ")
    assert created["token"].startswith("sks_") and created["name"] == "n8n flow"
    assert set(created) == {"id", "name", "scope", "token", "created_at"}
    [row] = await stored(db)
    assert row.token_hash == hashlib.sha256(created["token"].encode()).hexdigest()
    assert created["token"] not in repr(row.__dict__)
    listed = await client.get("/api/me/tokens", headers=organizer.headers)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [created["id"]]
    assert "token" not in listed.json()[0] and listed.json()[0]["last_used_at"] is None

    me = await client.get("/api/auth/me", headers=bearer(created["token"]))
    assert me.status_code == 200 and me.json()["id"] == organizer.id


async def test_bad_input_is_422(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    for body in ({"name": " ", "scope": "read"}, {"name": "x", "scope": "admin"}, {"name": "x"}):
        response = await client.post("/api/me/tokens", json=body, headers=organizer.headers)
        assert response.status_code == 422 and response.json()["code"] == "validation_error"


async def test_read_tokens_only_read_and_write_tokens_do_what_the_user_may(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    read = (await new_token(client, organizer, "read"))["token"]
    write = (await new_token(client, organizer, "write"))["token"]
    path = f"/api/events/{event['id']}/bookings"
    assert (await client.get(path, headers=bearer(read))).status_code == 200
    assert (await client.head(f"/api/events/{event['id']}", headers=bearer(read))).status_code in (
        200,
        405,
    )
    patch = {"title": "Renamed"}
    refused = await client.patch(f"/api/events/{event['id']}", json=patch, headers=bearer(read))
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    minted = await client.post(
        "/api/me/tokens", json={"name": "x", "scope": "write"}, headers=bearer(read)
    )
    assert minted.status_code == 403 and minted.json()["code"] == "token_scope"
    allowed = await client.patch(f"/api/events/{event['id']}", json=patch, headers=bearer(write))
    assert allowed.status_code == 200 and allowed.json()["title"] == "Renamed"
    # A write token is the user, not more: another organizer's event stays theirs.
    other = await make_account(db, client, email="other@example.com")
    theirs = await make_event(client, other)
    foreign = await client.patch(f"/api/events/{theirs['id']}", json=patch, headers=bearer(write))
    assert foreign.status_code == 403


async def test_revoked_and_unknown_tokens_are_401(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    created = await new_token(client, organizer, "write")
    revoked = await client.delete(f"/api/me/tokens/{created['id']}", headers=organizer.headers)
    assert revoked.status_code == 204
    me = await client.get("/api/auth/me", headers=bearer(created["token"]))
    assert me.status_code == 401 and me.json()["code"] == "token_revoked"
    assert me.headers["WWW-Authenticate"] == "Bearer"
    unknown = await client.get("/api/auth/me", headers=bearer("sks_" + "x" * 43))
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_token"
    assert (await client.get("/api/me/tokens", headers=organizer.headers)).json() == []
    again = await client.delete(f"/api/me/tokens/{created['id']}", headers=organizer.headers)
    assert again.status_code == 404


async def test_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    created = await new_token(client, organizer, "read")
    for _ in range(3):
        assert (
            await client.get("/api/auth/me", headers=bearer(created["token"]))
        ).status_code == 200
    [row] = await stored(db)
    first = row.last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    await client.get("/api/auth/me", headers=bearer(created["token"]))
    assert (await stored(db))[0].last_used_at == first  # within the minute: no write
    earlier = first - timedelta(minutes=5)
    async with db.engine.begin() as connection:
        await connection.execute(sa.update(ApiToken).values(last_used_at=earlier))
    await client.get("/api/auth/me", headers=bearer(created["token"]))
    assert (await stored(db))[0].last_used_at > first
    listed = await client.get("/api/me/tokens", headers=organizer.headers)
    assert listed.json()[0]["last_used_at"] is not None


async def test_tokens_are_personal(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    other = await make_account(db, client, email="other@example.com")
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    created = await new_token(client, organizer, "write")
    theirs = await client.delete(f"/api/me/tokens/{created['id']}", headers=other.headers)
    assert theirs.status_code == 404
    assert (await client.get("/api/me/tokens", headers=other.headers)).json() == []
    assert (await client.get("/api/me/tokens")).status_code == 401
    assert (
        await client.post("/api/me/tokens", json={"name": "x", "scope": "read"})
    ).status_code == 401
    members = await client.post(
        "/api/me/tokens", json={"name": "x", "scope": "read"}, headers=member.headers
    )
    assert members.status_code == 403
    assert (await client.delete(f"/api/me/tokens/{created['id']}")).status_code == 401


async def test_tokens_page_shows_a_new_token_once_escapes_and_revokes(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    await web_login(client, organizer.email)
    csrf = await page_csrf(client, "/organizer/tokens")
    name = "<script>alert(1)</script>"
    forged = await client.post(
        "/organizer/tokens", data={"name": "x", "scope": "read", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    created = await client.post(
        "/organizer/tokens", data={"name": name, "scope": "write", "csrf_token": csrf}
    )
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    assert "<script>alert(1)</script>" not in created.text
    assert "&lt;script&gt;" in created.text
    [value] = [
        line.split('value="')[1].split('"')[0]
        for line in created.text.splitlines()
        if 'data-role="token-value"' in line
    ]
    assert value.startswith("sks_")
    assert (await client.get("/api/auth/me", headers=bearer(value))).status_code == 200
    later = await client.get("/organizer/tokens")
    assert value not in later.text and 'data-role="new-token"' not in later.text
    assert 'data-role="last-used"' in later.text

    blank = await client.post(
        "/organizer/tokens", data={"name": "", "scope": "read", "csrf_token": csrf}
    )
    assert blank.status_code == 422

    [row] = await stored(db)
    revoke = f"/organizer/tokens/{row.id}/revoke"
    assert (await client.post(revoke, data={"csrf_token": "forged"})).status_code == 403
    assert (await client.post(revoke, data={"csrf_token": csrf})).status_code == 303
    assert (await client.get("/api/auth/me", headers=bearer(value))).status_code == 401


async def test_tokens_page_needs_an_organizer(client: httpx.AsyncClient, db: Database) -> None:
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    organizer = await make_account(db, client, email="org@example.com")
    created = await new_token(client, organizer, "write")
    assert (await client.get("/organizer/tokens")).status_code == 303  # to the sign-in
    await web_login(client, member.email)
    assert (await client.get("/organizer/tokens")).status_code == 403
    other = await make_account(db, client, email="other@example.com")
    client.cookies.clear()
    await web_login(client, other.email)
    csrf = await page_csrf(client, "/organizer/tokens")
    revoke = await client.post(
        f"/organizer/tokens/{created['id']}/revoke", data={"csrf_token": csrf}
    )
    assert revoke.status_code == 404
