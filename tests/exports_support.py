"""A roster to export: ATC blocks and pilot slots, claims (one released) with awkward names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.helpers import Account, booking_body, make_event, make_slots

NAMES = ["Zoë Ångström", '=HYPERLINK("http://evil")', "+44 20 7946 0000", "-Minus", "@mention"]


def at(event: dict[str, Any], minutes: float) -> str:
    return (
        datetime.fromisoformat(event["start_datetime"]) + timedelta(minutes=minutes)
    ).isoformat()


async def roster_event(http: httpx.AsyncClient, organizer: Account) -> dict[str, Any]:
    """EGLL_TWR and EGLL_GND over three 2-hour blocks and 6 pilot slots; the TWR's first block
    is Zoë's, four pilots are booked and one of them released again."""
    event = await make_event(http, organizer)
    atc = [
        {"position_name": name, "position_type": kind, "start_time": at(event, block * 120),
         "end_time": at(event, block * 120 + 120)}
        for name, kind in (("EGLL_TWR", "TWR"), ("EGLL_GND", "GND")) for block in range(3)
    ]  # fmt: skip
    pilots = [
        {"position_name": f"EGLL-KJFK {i}", "position_type": "PILOT", "origin_icao": "EGLL",
         "destination_icao": "KJFK", "slot_time": at(event, 30 + 5 * i), "aircraft_type": "B77W"}
        for i in range(6)
    ]  # fmt: skip
    slots = await make_slots(http, organizer, event, atc + pilots)
    twr = slots[0]
    booked = await http.post(
        f"/api/slots/{twr['id']}/book",
        json=booking_body("EGLLTWR", NAMES[0], email="zoe@example.com"),
    )
    assert booked.status_code == 201, booked.text
    for number, slot in enumerate(slots[6:10], start=1):
        body = booking_body(f"BAW{number}", NAMES[number], email=f"p{number}@example.com")
        response = await http.post(f"/api/slots/{slot['id']}/book", json=body)
        assert response.status_code == 201, response.text
        if number == 4:
            released = await http.post(
                f"/api/bookings/{response.json()['id']}/release",
                headers={"X-Manage-Token": response.json()["manage_token"]},
            )
            assert released.status_code == 200, released.text
    return event
