"""Sign-in and who may manage what."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.security import create_access_token
from skyslots.accounts.service import user_create
from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import PASSWORD, event_body, make_account, make_event


async def test_token_for_a_good_password_only(client: httpx.AsyncClient, db: Database) -> None:
    account = await make_account(db, client, email="Org@Example.com")
    me = await client.get("/api/auth/me", headers=account.headers)
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["email"], me.json()["role"]) == (
        account.id,
        "org@example.com",
        "organizer",
    )
    assert "password_hash" not in me.json()

    response = await client.post(
        "/api/auth/token", data={"username": "ORG@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"

    for username, password in [
        ("org@example.com", "wrong password"),
        ("org@example.com", ""),
        ("nobody@example.com", PASSWORD),
        ("org\x00@example.com", PASSWORD),
    ]:
        response = await client.post(
            "/api/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code in (401, 422), (username, password)
        if password:
            assert response.status_code == 401
            assert response.json()["code"] == "invalid_credentials"
            assert "access_token" not in response.json()


async def test_a_user_without_a_password_cannot_sign_in(
    client: httpx.AsyncClient, db: Database
) -> None:
    await db.transaction(
        user_create, data=UserCreate(email="nopass@example.com", name="No Pass", role=Role.ADMIN)
    )
    response = await client.post(
        "/api/auth/token", data={"username": "nopass@example.com", "password": "anything12"}
    )
    assert response.status_code == 401


async def test_bad_bearer_tokens_are_401(client: httpx.AsyncClient, db: Database) -> None:
    account = await make_account(db, client, email="org@example.com")
    token = account.headers["Authorization"].removeprefix("Bearer ")
    for header in ("Bearer garbage", f"Bearer {token[:-4]}xxxx", "Bearer "):
        response = await client.post(
            "/api/events", json=event_body(), headers={"Authorization": header}
        )
        assert response.status_code == 401, header
        assert response.json()["code"] == "not_authenticated"
    assert (
        await client.get("/api/auth/me", headers={"Authorization": "Bearer x.y.z"})
    ).status_code == 401
    assert (await client.get("/api/auth/me")).status_code == 401
    response = await client.post("/api/events", json=event_body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    # A bad token is refused even where signing in is optional.
    response = await client.get("/api/events/1", headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 401


async def test_token_of_a_deleted_user_is_401(client: httpx.AsyncClient, db: Database) -> None:
    account = await make_account(db, client, email="gone@example.com")
    async with db.engine.begin() as connection:
        await connection.exec_driver_sql(f"DELETE FROM users WHERE id = {account.id}")
    assert (await client.get("/api/auth/me", headers=account.headers)).status_code == 401


async def test_members_cannot_create_events(client: httpx.AsyncClient, db: Database) -> None:
    member = await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    response = await client.post("/api/events", json=event_body(), headers=member.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_organizer"
    assert (await client.get("/api/events")).json()["total"] == 0


async def test_admin_manages_another_organizers_event(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    event = await make_event(client, organizer, status="draft")
    url = f"/api/events/{event['id']}"

    response = await client.patch(url, json={"status": "published"}, headers=admin.headers)
    assert response.status_code == 200
    assert response.json()["organizer_id"] == organizer.id
    response = await client.post(
        f"{url}/slots", json={"position_name": "EGLL_GND"}, headers=admin.headers
    )
    assert response.status_code == 201
    assert (await client.get(f"{url}/audit", headers=admin.headers)).status_code == 200
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert (await client.get(url, headers=organizer.headers)).status_code == 404


async def test_an_organizer_with_a_long_email_is_audited_by_name_never_by_email(
    client: httpx.AsyncClient, db: Database
) -> None:
    email = f"{'o' * 60}@{'sub' * 20}.{'example' * 9}.org"
    account = await make_account(db, client, email=email)
    event = await make_event(client, account)
    [entry] = (await client.get(f"/api/events/{event['id']}/audit", headers=account.headers)).json()
    assert entry["user_id"] == account.id
    assert entry["actor"] == f"user:{account.id} {'O' + 'o' * 59}"
    assert "@" not in entry["actor"]


async def test_expired_and_foreign_tokens_are_401(
    client: httpx.AsyncClient, db: Database, app: FastAPI
) -> None:
    account = await make_account(db, client, email="org@example.com")
    secret = app.state.settings.secret_key
    for token in (
        create_access_token(account.id, secret=secret, minutes=-1),
        create_access_token(account.id, secret="x" * 40, minutes=5),
    ):
        response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
    fresh = create_access_token(account.id, secret=secret, minutes=5)
    response = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    assert response.status_code == 200
