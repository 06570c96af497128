"""When a failed delivery is tried again: exponential backoff with full jitter, capped."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

FIRST_DELAY_SECONDS = 30.0
MAX_DELAY_SECONDS = 6 * 3600.0


class DeliveryFailed(Exception):
    """A delivery that did not happen. `permanent`: trying again cannot help (the row is dead at
    once); `retry_after`: the receiver said when to come back (seconds)."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


class DeliverySkipped(Exception):
    """Nothing to deliver any more (a reminder for a booking released since): the row is done."""


def next_attempt(
    now: datetime,
    attempts: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The time of the attempt after `attempts` failed ones: a random delay up to
    30 s x 2^(attempts-1) (at most 6 h), never sooner than `retry_after`."""
    ceiling = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** max(attempts - 1, 0))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_DELAY_SECONDS))
    return now + timedelta(seconds=delay)
