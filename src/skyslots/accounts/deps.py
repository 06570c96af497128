"""Request dependencies: the database, the settings and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from skyslots.accounts.security import read_access_token
from skyslots.accounts.service import user_get
from skyslots.config import Settings
from skyslots.db import Database
from skyslots.errors import Forbidden, Unauthorized
from skyslots.models import Role, User

bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


# `async def` although nothing is awaited: FastAPI runs plain `def` dependencies in its thread
# pool, a thread hop per request that the booking rush measurably pays for.
async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def optional_user(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer)],
) -> User | None:
    """The user behind a bearer token (or the web UI's session cookie), if any."""
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


async def organizer_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role not in (Role.ORGANIZER, Role.ADMIN):
        raise Forbidden("Only organizers and admins can manage events.", code="not_organizer")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]
OrganizerUser = Annotated[User, Depends(organizer_user)]
