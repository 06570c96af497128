"""The named rate limits, their defaults, and SKYSLOTS_RATE_LIMITS (docs/security.md)."""

from __future__ import annotations

from collections.abc import Mapping

from limits import RateLimitItem, parse

# name -> limit in the `limits` notation; each is counted per client address (and per account
# or target where the name says so).
DEFAULT_LIMITS: Mapping[str, str] = {
    # Booking writes (book, hold, waitlist join, release, accept, confirm) from one address.
    "book_per_address": "60/minute",
    # The same writes on one slot (or booking, or waitlist entry) from one address.
    "book_per_slot": "5/10seconds",
    # Sign-in attempts for one account, from anywhere.
    "signin": "10/minute",
    # Sign-in attempts from one address, for any account.
    "signin_per_address": "30/minute",
}
OFF = "off"


def rate_limits(setting: str) -> dict[str, RateLimitItem] | None:
    """The limits in force: the defaults with `setting`'s overrides (`name=5/10seconds,…`), or
    None when `setting` is "off". ValueError names what is wrong."""
    setting = setting.strip()
    if setting.lower() == OFF:
        return None
    chosen = dict(DEFAULT_LIMITS)
    for part in filter(None, (p.strip() for p in setting.split(","))):
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals or name not in DEFAULT_LIMITS:
            known = ", ".join(DEFAULT_LIMITS)
            raise ValueError(f"{part!r}: use name=limit with a name of {known}, or 'off'")
        chosen[name] = value.strip()
    try:
        return {name: parse(value) for name, value in chosen.items()}
    except ValueError as exc:
        raise ValueError(f"{exc} (the limits notation: 5/10seconds, 10/minute)") from None
