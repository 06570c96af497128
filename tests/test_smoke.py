from __future__ import annotations

import httpx

from skyslots.db import Database
from tests.helpers import booking_body, make_account, make_event, make_slots, pilot_slots


async def test_claim_then_conflict(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    first = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW1"))
    assert first.status_code == 201, first.text
    second = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("BAW2"))
    assert second.status_code == 409
    assert second.json()["code"] == "slot_taken"
