"""The limits as FastAPI dependencies, for the API's and the pages' routes alike."""

from __future__ import annotations

from fastapi import Depends, Request

from skyslots.ratelimit.limiter import RateLimiter

# The path parameter that names what a booking write is aimed at, in order of preference.
_TARGETS = ("slot_id", "booking_id", "entry_id", "hold_id", "event_id")


def client_address(request: Request) -> str:
    """The client's address: the peer, or the forwarded one when the peer is a trusted proxy
    (SKYSLOTS_TRUSTED_PROXIES; see app.py)."""
    return request.client.host if request.client else "unknown"


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def limit_booking_write(request: Request) -> None:
    """book_per_address and book_per_slot for a booking write (book, hold, waitlist, release)."""
    limiter = limiter_of(request)
    if not limiter.enabled:
        return
    address = client_address(request)
    await limiter.hit("book_per_address", address)
    target = next((f"{k}={request.path_params[k]}" for k in _TARGETS if k in request.path_params),
                  request.url.path)  # fmt: skip
    await limiter.hit("book_per_slot", address, target)


async def limit_signin(request: Request, account: str) -> None:
    """signin (per account) and signin_per_address, before a password is checked."""
    limiter = limiter_of(request)
    await limiter.hit("signin_per_address", client_address(request))
    await limiter.hit("signin", account.strip().lower())


# For a booking write's route decorator: `@router.post(..., dependencies=RATE_LIMITED)`.
RATE_LIMITED = [Depends(limit_booking_write)]
