"""Members signed in with VATSIM Connect: found by CID, linked by email, else created."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skyslots.accounts.service import user_by_email
from skyslots.errors import Conflict
from skyslots.models import Role, User
from skyslots.vatsim.profile import VatsimProfile

log = logging.getLogger(__name__)


async def user_by_vatsim_id(session: AsyncSession, *, vatsim_id: int) -> User | None:
    result = await session.execute(select(User).where(User.vatsim_id == vatsim_id))
    return result.scalar_one_or_none()


async def user_from_vatsim(session: AsyncSession, *, profile: VatsimProfile) -> User:
    """The account of this VATSIM member, its name, email and rating refreshed.

    By CID first; else an account with the same email and no VATSIM id yet is linked to the CID
    (VATSIM confirms members' emails); else a new member without a password. 409 when the email
    belongs to an account linked to another CID, or VATSIM shared no email for a new account.
    """
    user = await user_by_vatsim_id(session, vatsim_id=profile.cid)
    if user is None and profile.email:
        user = await user_by_email(session, email=profile.email)
        if user is not None and user.vatsim_id is not None:
            raise Conflict(
                "Your VATSIM email address belongs to another SkySlots account, linked to a "
                "different VATSIM ID. Ask an administrator to sort it out.",
                code="vatsim_email_taken",
            )
        if user is not None:
            log.info("linking user %s to a VATSIM CID by email", user.id)
            user.vatsim_id = profile.cid
    if user is None:
        if not profile.email:
            raise Conflict(
                "VATSIM did not share your email address. Sign in again and allow SkySlots "
                "to see it.",
                code="vatsim_email_missing",
            )
        user = User(vatsim_id=profile.cid, email=profile.email, name=profile.name)
        user.role = Role.MEMBER.value
        session.add(user)
    elif profile.email and profile.email != user.email.lower():
        other = await user_by_email(session, email=profile.email)
        if other is None:
            user.email = profile.email
        else:  # keep the address we have rather than take another account's
            log.warning("VATSIM email of user %s is user %s's; kept the old one", user.id, other.id)
    user.name = profile.name
    user.rating_id, user.rating_short = profile.rating_id, profile.rating_short
    try:
        await session.flush()
    except IntegrityError as exc:  # a simultaneous first sign-in of the same CID or email
        raise Conflict(
            "Another sign-in for this account happened at the same moment. Please try again.",
            code="vatsim_sign_in_conflict",
        ) from exc
    return user
