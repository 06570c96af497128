"""Dependencies of the HTML routes: the signed-in user from the cookie, CSRF-checked forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from skyslots.accounts.deps import DatabaseDep, has_organizer_duties
from skyslots.accounts.service import user_get
from skyslots.errors import Forbidden, Unauthorized
from skyslots.models import Role, User
from skyslots.slots.upload import upload_form
from skyslots.web.templating import web_session

CSRF_FIELD = "csrf_token"


async def session_user(request: Request, db: DatabaseDep) -> User | None:
    """The user signed in through the cookie session, if any."""
    user_id = request.scope.get("session_user_id")
    if user_id is None:
        return None
    user = await db.read(user_get, user_id=user_id)
    if user is None:
        web_session(request).logout()
    return user


async def organizer_page_user(
    db: DatabaseDep, user: Annotated[User | None, Depends(session_user)]
) -> User:
    """An organizer, admin or co-organizer; anyone else is sent to sign in (401) or refused
    (403)."""
    if user is None:
        raise Unauthorized("Sign in to manage events.")
    if not await has_organizer_duties(db, user):
        raise Forbidden("Only organizers and admins can manage events.", code="not_organizer")
    return user


async def event_creator_page_user(user: Annotated[User, Depends(organizer_page_user)]) -> User:
    """Creating events takes an organizer or admin account."""
    if user.role not in (Role.ORGANIZER, Role.ADMIN):
        raise Forbidden("Only organizers and admins can create events.", code="not_organizer")
    return user


async def admin_page_user(user: Annotated[User | None, Depends(session_user)]) -> User:
    """An admin; anyone else is sent to sign in (401) or refused (403)."""
    if user is None:
        raise Unauthorized("Sign in to change the site's settings.")
    if user.role != Role.ADMIN:
        raise Forbidden("Only admins can change the site's features.", code="not_admin")
    return user


def _ensure_csrf(request: Request, form: FormData) -> FormData:
    token = form.get(CSRF_FIELD)
    if not web_session(request).csrf_matches(token if isinstance(token, str) else None):
        raise Forbidden(
            "This form has expired or did not come from SkySlots. Reload the page and try again.",
            code="csrf_failed",
        )
    return form


async def checked_form(request: Request) -> FormData:
    """The POSTed form, refused (403) unless it carries this session's CSRF token."""
    return _ensure_csrf(request, await request.form())


async def checked_upload(request: Request) -> FormData:
    """A POSTed form with a file, read within the upload limit (413), CSRF-checked (403)."""
    return _ensure_csrf(request, await upload_form(request))


SessionUser = Annotated[User | None, Depends(session_user)]
OrganizerPage = Annotated[User, Depends(organizer_page_user)]
EventCreatorPage = Annotated[User, Depends(event_creator_page_user)]
AdminPage = Annotated[User, Depends(admin_page_user)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
CheckedUpload = Annotated[FormData, Depends(checked_upload)]
