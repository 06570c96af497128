"""Personal API tokens: create (shown once), list, revoke, and the lookup behind a bearer."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.security import hash_manage_token, new_api_token
from skyslots.db import utcnow
from skyslots.errors import NotFound
from skyslots.models import ApiToken, User
from skyslots.tokens.schemas import TokenCreate, TokenCreated

# A token's last use is written at most this often, not on every request.
LAST_USE_PRECISION = timedelta(minutes=1)


async def api_token_create(session: AsyncSession, *, user: User, data: TokenCreate) -> TokenCreated:
    """A new token for `user`; its value is in the answer only, the database keeps its hash."""
    assert user.id is not None
    token, token_hash = new_api_token()
    row = ApiToken(user_id=user.id, name=data.name, scope=data.scope.value, token_hash=token_hash)
    session.add(row)
    await session.flush()
    assert row.id is not None
    return TokenCreated(
        id=row.id, name=row.name, scope=data.scope, token=token, created_at=row.created_at
    )


async def api_tokens_of(session: AsyncSession, *, user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first."""
    rows = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(rows)


async def api_token_revoke(session: AsyncSession, *, token_id: int, user: User) -> ApiToken:
    """Revoke one of the user's tokens; another user's or a revoked one is 404."""
    row = await session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound(f"API token {token_id} does not exist.", code="token_not_found")
    row.revoked_at = utcnow()
    await session.flush()
    return row


async def api_token_lookup(session: AsyncSession, *, token: str) -> tuple[ApiToken, User] | None:
    """The token row (revoked ones too) and its user, by the token's hash."""
    found = await session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_manage_token(token))
    )
    row = found.one_or_none()
    return (row[0], row[1]) if row is not None else None


def last_use_stale(row: ApiToken, now: datetime) -> bool:
    return row.last_used_at is None or now - row.last_used_at >= LAST_USE_PRECISION


async def api_token_touch(session: AsyncSession, *, token_id: int, now: datetime) -> None:
    """Note a use; a no-op when another request already did within the minute."""
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at <= now - LAST_USE_PRECISION,
            ),
        )
        .values(last_used_at=now)
    )
