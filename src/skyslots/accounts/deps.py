"""Request dependencies: the database, the settings and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from skyslots.accounts.security import API_TOKEN_PREFIX, read_access_token
from skyslots.accounts.service import user_get
from skyslots.config import Settings
from skyslots.db import Database, utcnow
from skyslots.errors import Forbidden, Unauthorized
from skyslots.models import Role, TokenScope, User
from skyslots.organizers.repository import co_organizes_any
from skyslots.tokens.service import api_token_lookup, api_token_touch, last_use_stale

bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
READ_METHODS = ("GET", "HEAD")


# `async def` although nothing is awaited: FastAPI runs plain `def` dependencies in its thread
# pool, a thread hop per request that the booking rush measurably pays for.
async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def api_token_user(request: Request, db: Database, token: str) -> User:
    """The owner of a personal API token: 401 unknown or revoked, 403 a read token's write."""
    found = await db.read(api_token_lookup, token=token)
    if found is None:
        raise Unauthorized("This API token is not valid.", code="invalid_token")
    row, user = found
    if row.revoked_at is not None:
        raise Unauthorized("This API token was revoked.", code="token_revoked")
    if row.scope == TokenScope.READ and request.method not in READ_METHODS:
        raise Forbidden(
            "This API token is read-only: it may GET and HEAD, not "
            f"{request.method}. Create a write token for changes.",
            code="token_scope",
        )
    now = utcnow()
    if last_use_stale(row, now):
        await db.transaction(api_token_touch, token_id=row.id, now=now)  # type: ignore[arg-type]
    return user


async def optional_user(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer)],
) -> User | None:
    """The user behind a bearer token (an access token or a personal API token `sks_…`, or the
    web UI's session cookie), if any."""
    if token and token.startswith(API_TOKEN_PREFIX):
        return await api_token_user(request, db, token)
    user_id = read_access_token(token, secret=settings.secret_key) if token else None
    if user_id is None:
        user_id = request.scope.get("session_user_id")
    if user_id is None:
        if token:
            raise Unauthorized("The access token is invalid or has expired.")
        return None
    user = await db.read(user_get, user_id=user_id)
    if user is None:
        raise Unauthorized("The account behind this token no longer exists.")
    return user


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise Unauthorized("Sign in first: send a bearer token from POST /api/auth/token.")
    return user


async def has_organizer_duties(db: Database, user: User) -> bool:
    """Organizers and admins, and any account that co-organizes an event (the organizer area
    opens to them; which events they may manage is each event's own check)."""
    if user.role in (Role.ORGANIZER, Role.ADMIN):
        return True
    assert user.id is not None
    return await db.read(co_organizes_any, user_id=user.id)


async def organizer_user(db: DatabaseDep, user: Annotated[User, Depends(current_user)]) -> User:
    if not await has_organizer_duties(db, user):
        raise Forbidden("Only organizers and admins can manage events.", code="not_organizer")
    return user


async def event_creator(user: Annotated[User, Depends(current_user)]) -> User:
    """Creating events takes an organizer or admin account (co-organizing one is not enough)."""
    if user.role not in (Role.ORGANIZER, Role.ADMIN):
        raise Forbidden("Only organizers and admins can create events.", code="not_organizer")
    return user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    """Site-wide settings (feature flags) take an admin account."""
    if user.role != Role.ADMIN:
        raise Forbidden("Only admins can change this.", code="not_admin")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
OrganizerUser = Annotated[User, Depends(organizer_user)]
EventCreator = Annotated[User, Depends(event_creator)]
AdminUser = Annotated[User, Depends(admin_user)]
