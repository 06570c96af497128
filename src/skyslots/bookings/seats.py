"""Per-person limits as seat numbers: a person's claims in an event take seats 1..limit, and a
unique index per seat makes "at most `limit`" a rule the database keeps under any race."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from skyslots.bookings import repository
from skyslots.errors import Conflict


def limit_reached(who: str, limit: int) -> Conflict:
    slots = "slot" if limit == 1 else "slots"
    return Conflict(
        f"{who} already holds {limit} {slots} in this event, the most one person may book.",
        code="limit_reached",
    )


async def first_free_seat(
    connection: AsyncConnection, *, event_id: int, callsign: str, email: str | None, limit: int
) -> dict[str, int]:
    """The lowest free seat for the callsign and for the email; 409 `limit_reached` when full.

    At a limit of 1 the seat is always 1 and nothing is read: the index refuses a second claim.
    """
    if limit == 1:
        return {"callsign_seat": 1, "email_seat": 1}
    by_callsign, by_email = await repository.claimed_seats(
        connection, event_id=event_id, callsign=callsign, email=email
    )
    seats = {}
    for column, taken, who in (
        ("callsign_seat", by_callsign, callsign),
        ("email_seat", by_email, "This email"),
    ):
        free = next((n for n in range(1, limit + 1) if n not in taken), None)
        if free is None:
            raise limit_reached(who, limit)
        seats[column] = free
    return seats
