"""Counting requests against the named limits: in Redis when configured (shared by every
process), in memory otherwise; a moving window, with the `limits` package's async strategies."""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from skyslots.config import Settings
from skyslots.errors import SkySlotsError
from skyslots.features.service import Features
from skyslots.ratelimit.policy import rate_limits

log = logging.getLogger(__name__)


class RateLimited(SkySlotsError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, RateLimitItem] | None,
        storage: Storage,
        features: Features | None = None,
    ) -> None:
        self.limits = limits
        self.features = features  # the `rate_limits` flag off: nothing is counted
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: Settings, features: Features | None = None) -> RateLimiter:
        storage: Storage = MemoryStorage()
        if settings.redis_url:
            uri = settings.redis_url.replace("redis://", "async+redis://", 1)
            uri = uri.replace("rediss://", "async+rediss://", 1)
            storage = storage_from_string(
                uri, key_prefix=f"{settings.redis_channel_prefix}rl", implementation="redispy"
            )
        return cls(rate_limits(settings.rate_limits), storage, features)

    @property
    def enabled(self) -> bool:
        return self.limits is not None

    async def hit(self, name: str, *identifiers: str) -> None:
        """Count one request under limit `name` for `identifiers`; RateLimited when over it.
        A storage that cannot be reached lets the request through (bookings go on)."""
        if self.limits is None:
            return
        if self.features is not None and not await self.features.is_on("rate_limits"):
            return
        item = self.limits[name]
        try:
            if await self.strategy.hit(item, name, *identifiers):
                return
            stats = await self.strategy.get_window_stats(item, name, *identifiers)
        except Exception as exc:  # the limiter's store is down: fail open, loudly
            log.warning("rate limit %s not checked: %s", name, type(exc).__name__)
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many requests; try again in {retry_after} s.", retry_after=retry_after
        )
