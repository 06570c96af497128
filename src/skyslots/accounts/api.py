from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from skyslots.accounts.deps import CurrentUser, DatabaseDep, SettingsDep
from skyslots.accounts.schemas import AccessToken, UserOut
from skyslots.accounts.security import create_access_token
from skyslots.accounts.service import user_sign_in
from skyslots.errors import Unauthorized
from skyslots.ratelimit.deps import limit_signin

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", responses={401: {}, 429: {}})
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    db: DatabaseDep,
    settings: SettingsDep,
) -> AccessToken:
    """Exchange an email (as `username`) and password for a bearer token."""
    await limit_signin(request, form.username)
    user = await user_sign_in(db, email=form.username, password=form.password)
    if user is None or user.id is None:
        raise Unauthorized("Wrong email or password.", code="invalid_credentials")
    token = create_access_token(
        user.id, secret=settings.secret_key, minutes=settings.access_token_minutes
    )
    return AccessToken(access_token=token)


@router.get("/auth/me")
async def who_am_i(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)
