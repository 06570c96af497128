"""Every feature flag, with its default and what it gates; and SKYSLOTS_FEATURES' parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    name: str
    default: bool
    description: str


# The one list. A flag that is off makes its endpoints 404 `feature_off` and hides its UI.
FLAGS: tuple[Flag, ...] = (
    Flag("holds", True, "Holding a slot while the booking form is filled in."),
    Flag("waitlist", True, "Waitlists: joining, offers, promotion of waiters, the waitlist pages."),
    Flag(
        "email_confirmation",
        True,
        "Bookings confirmed by a mailed link on events that ask for it; off: booked at once.",
    ),
    Flag("webhooks", True, "Outbound webhooks: the endpoints API, new calls and their delivery."),
    Flag("vatsim_signin", True, "Sign in with VATSIM (when VATSIM Connect is configured)."),
    Flag("rate_limits", True, "The request rate limits (SKYSLOTS_RATE_LIMITS sets them)."),
)
BY_NAME: Mapping[str, Flag] = {flag.name: flag for flag in FLAGS}
ON_WORDS = ("on", "true", "1", "yes")
OFF_WORDS = ("off", "false", "0", "no")


def defaults() -> dict[str, bool]:
    return {flag.name: flag.default for flag in FLAGS}


def parse_features(setting: str) -> dict[str, bool]:
    """SKYSLOTS_FEATURES (`waitlist=off,webhooks=on`) as {name: enabled}; ValueError names what
    is wrong."""
    chosen: dict[str, bool] = {}
    for part in filter(None, (p.strip() for p in setting.split(","))):
        name, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals or name.lower() not in BY_NAME:
            known = ", ".join(BY_NAME)
            raise ValueError(f"{part!r}: use name=on or name=off with a name of {known}")
        word = value.lower()
        if word not in ON_WORDS + OFF_WORDS:
            raise ValueError(f"{part!r}: the value must be on or off (or true/false, 1/0)")
        chosen[name.lower()] = word in ON_WORDS
    return chosen
