"""The member's profile from VATSIM Connect's `GET /api/user`, read defensively."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ProfileInvalid(ValueError):
    """The user JSON lacks what sign-in needs (a CID)."""


@dataclass(frozen=True)
class VatsimProfile:
    """What SkySlots keeps of a VATSIM member (the division is read but not stored)."""

    cid: int
    name: str
    email: str | None
    rating_id: int | None
    rating_short: str | None
    division_id: str | None


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())[:limit]
    return text or None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def parse_profile(payload: Any) -> VatsimProfile:
    """`{"data": {"cid": "1234567" | 1234567, "personal": {...}, "vatsim": {...}}}` → profile."""
    data = _section(payload, "data") if isinstance(payload, dict) else {}
    cid = _integer(data.get("cid"))
    if cid is None or cid <= 0:
        raise ProfileInvalid("the VATSIM user data has no CID")
    personal, vatsim = _section(data, "personal"), _section(data, "vatsim")
    rating = _section(vatsim, "rating")
    email = _text(personal.get("email"), 254)
    return VatsimProfile(
        cid=cid,
        name=_text(personal.get("name_full"), 100) or f"VATSIM {cid}",
        email=email.lower() if email and "@" in email else None,
        rating_id=_integer(rating.get("id")),
        rating_short=_text(rating.get("short"), 8),
        division_id=_text(_section(vatsim, "division").get("id"), 16),
    )
