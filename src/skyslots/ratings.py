"""VATSIM controller ratings and the rating rules of a slot: who may take it.

A slot's `min_rating` (a rating id, null: anyone) or, with its event's `apply_rating_defaults`,
the usual rating of its position type (VATSIM.md) is what its booker needs. The check reads only
values the claim's context row already holds: events without rules pay no query for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skyslots.errors import Conflict, Forbidden
from skyslots.models import PositionType, User

# The ids VATSIM uses (6 C2 and 9 I2 are not awarded); a higher id is a higher rating.
RATINGS: dict[int, str] = {
    1: "OBS",
    2: "S1",
    3: "S2",
    4: "S3",
    5: "C1",
    7: "C3",
    8: "I1",
    10: "I3",
    11: "SUP",
    12: "ADM",
}
RATING_IDS = {short: rating_id for rating_id, short in RATINGS.items()}
# With `apply_rating_defaults`: what an ATC slot without its own min_rating requires.
DEFAULT_RATING: dict[str, int] = {
    PositionType.DEL: 2,
    PositionType.GND: 2,
    PositionType.TWR: 3,
    PositionType.APP: 4,
    PositionType.DEP: 4,
    PositionType.CTR: 5,
    PositionType.FSS: 5,
}
RATING_CHOICES = ", ".join(f"{rating_id} {short}" for rating_id, short in RATINGS.items())


def parse_rating(value: object) -> int | None:
    """A rating id from an id (3, "3") or a short name ("S2", "s2"); None for blank. ValueError
    names the choices for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"min_rating must be a VATSIM rating: {RATING_CHOICES}")
    if isinstance(value, int):
        rating_id = value
    elif isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            rating_id = int(text)
        elif text in RATING_IDS:
            rating_id = RATING_IDS[text]
        else:
            raise ValueError(f"{value!r} is not a VATSIM rating: use one of {RATING_CHOICES}")
    else:
        raise ValueError(f"min_rating must be a VATSIM rating: {RATING_CHOICES}")
    if rating_id not in RATINGS:
        raise ValueError(f"{rating_id} is not a VATSIM rating id: use one of {RATING_CHOICES}")
    return rating_id


def rating_name(rating_id: int | None) -> str:
    """`S2` for 3; an id VATSIM does not award (0 suspended, -1 inactive) as `rating <id>`."""
    if rating_id is None:
        return "none"
    return RATINGS.get(rating_id, f"rating {rating_id}")


def required_rating(
    *, min_rating: int | None, position_type: str, apply_defaults: bool
) -> int | None:
    """The rating a slot's booker needs: its own, else (with the event's defaults) its type's."""
    if min_rating is not None:
        return min_rating
    if apply_defaults:
        return DEFAULT_RATING.get(position_type)
    return None


def slot_requirement(values: Any) -> int | None:
    """`required_rating` of a row or object with the slot's and its event's columns
    (`min_rating`, `position_type`, `apply_rating_defaults`)."""
    get = values.get if isinstance(values, Mapping) else lambda k: getattr(values, k)
    return required_rating(
        min_rating=get("min_rating"),
        position_type=str(get("position_type")),
        apply_defaults=bool(get("apply_rating_defaults")),
    )


def rating_refusal(
    *, position: str, required: int | None, requires_login: bool, title: str, user: User | None
) -> Forbidden | Conflict | None:
    """Why `user` (None: anonymous) may not take the slot: 403 `login_required`, 409
    `rating_too_low` naming the rating; None when they may."""
    if user is None:
        if required is not None:
            return Forbidden(
                f"{position} needs a controller rated {rating_name(required)} or higher: "
                "sign in to book it.",
                code="login_required",
            )
        if requires_login:
            return Forbidden(
                f"{title} takes bookings from signed-in members only: sign in to book.",
                code="login_required",
            )
        return None
    if required is None:
        return None
    if user.rating_id is None:
        return Conflict(
            f"{position} needs {rating_name(required)} or higher; your account has no VATSIM "
            "rating: sign in with VATSIM.",
            code="rating_too_low",
        )
    if user.rating_id < required:
        return Conflict(
            f"{position} needs {rating_name(required)} or higher; your rating is "
            f"{rating_name(user.rating_id)}.",
            code="rating_too_low",
        )
    return None


def ensure_may_take(context: Any, user: User | None) -> None:
    """Refuse a booker the slot of `context` (a claim context row) does not admit."""
    if not (
        context.booking_requires_login
        or context.min_rating is not None
        or context.apply_rating_defaults
    ):
        return  # the usual case: no rules, nothing to check
    refusal = rating_refusal(
        position=context.position_name,
        required=slot_requirement(context._mapping),
        requires_login=bool(context.booking_requires_login),
        title=context.title,
        user=user,
    )
    if refusal is not None:
        raise refusal
