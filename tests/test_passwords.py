"""Passwords: argon2id, scrypt hashes of earlier versions still sign in and are upgraded."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

import httpx
from sqlalchemy import select, update

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.security import hash_password, password_needs_upgrade, verify_password
from skyslots.accounts.service import user_create
from skyslots.db import Database
from skyslots.models import Role, User


def old_scrypt_hash(password: str) -> str:
    """A hash as SkySlots made them before argon2id."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    salt_text, digest_text = (base64.b64encode(x).decode() for x in (salt, digest))
    return f"scrypt$16384$8$1${salt_text}${digest_text}"


def test_new_hashes_are_argon2id_and_verify() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong", stored)
    assert not password_needs_upgrade(stored)


def test_no_account_and_a_broken_hash_never_verify() -> None:
    assert not verify_password("anything", None)
    assert not verify_password("anything", "$argon2id$garbage")
    assert password_needs_upgrade(old_scrypt_hash("x"))


async def stored_hash(db: Database, email: str) -> str:
    async def read(session: Any) -> str:
        return str(await session.scalar(select(User.password_hash).where(User.email == email)))

    return await db.read(read)


async def test_a_scrypt_hash_signs_in_and_is_replaced_by_argon2id(
    client: httpx.AsyncClient, db: Database
) -> None:
    password = "an old but good password"
    data = UserCreate(email="old@example.com", name="Old", role=Role.ORGANIZER, password=password)
    await db.transaction(user_create, data=data)

    async def downgrade(session: Any) -> None:
        await session.execute(update(User).values(password_hash=old_scrypt_hash(password)))

    await db.transaction(downgrade)
    wrong = await client.post(
        "/api/auth/token", data={"username": "old@example.com", "password": "nope"}
    )
    assert wrong.status_code == 401
    assert (await stored_hash(db, "old@example.com")).startswith("scrypt$")  # not on a failure
    signed_in = await client.post(
        "/api/auth/token", data={"username": "old@example.com", "password": password}
    )
    assert signed_in.status_code == 200
    upgraded = await stored_hash(db, "old@example.com")
    assert upgraded.startswith("$argon2id$") and verify_password(password, upgraded)
    again = await client.post(
        "/api/auth/token", data={"username": "old@example.com", "password": password}
    )
    assert again.status_code == 200 and await stored_hash(db, "old@example.com") == upgraded
