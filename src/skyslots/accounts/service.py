"""Accounts: creating users and checking passwords."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.schemas import UserCreate
from skyslots.accounts.security import hash_password, password_needs_upgrade, verify_password
from skyslots.db import Database
from skyslots.errors import Conflict
from skyslots.models import User


async def user_create(session: AsyncSession, *, data: UserCreate) -> User:
    """Create a user; 409 when the email is already registered."""
    user = User(
        email=data.email.lower(),
        name=data.name,
        role=data.role.value,
        vatsim_id=data.vatsim_id,
        password_hash=await asyncio.to_thread(hash_password, data.password)
        if data.password
        else None,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"A user with email {user.email} already exists.", code="user_exists"
        ) from exc
    return user


async def user_get(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def user_by_email(session: AsyncSession, *, email: str) -> User | None:
    if "\x00" in email:  # no stored email has one, and PostgreSQL refuses it in a query
        return None
    result = await session.execute(select(User).where(func.lower(User.email) == email.lower()))
    return result.scalar_one_or_none()


async def user_authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The user with this email and password, or None."""
    user = await user_by_email(session, email=email)
    # Password hashing is deliberately slow: keep it off the event loop.
    matches = await asyncio.to_thread(
        verify_password, password, user.password_hash if user else None
    )
    if user is None or not matches:
        return None
    return user


async def _store_password_hash(session: AsyncSession, *, user_id: int, password_hash: str) -> None:
    await session.execute(
        update(User).where(User.id == user_id).values(password_hash=password_hash)
    )


async def user_sign_in(db: Database, *, email: str, password: str) -> User | None:
    """Check a sign-in (outside any write transaction: hashing is slow); a hash of an older
    scheme is replaced by today's argon2id one."""
    user = await db.read(user_authenticate, email=email, password=password)
    if user is not None and user.id is not None and password_needs_upgrade(user.password_hash):
        upgraded = await asyncio.to_thread(hash_password, password)
        await db.transaction(_store_password_hash, user_id=user.id, password_hash=upgraded)
    return user
