"""Rating rules and login-only events on every way a person takes a slot: book, hold, the hold's
claim, waitlist join, promotion and accept; organizers' assignments pass them. Real databases
(SQLite and PostgreSQL), the real API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import Account, booking_body, make_account, make_event, make_slots
from tests.test_my_bookings import browser_session


@pytest.fixture
async def organizer(db: Database, client: httpx.AsyncClient) -> Account:
    return await make_account(db, client, email="org@example.com")


async def member(
    db: Database, client: httpx.AsyncClient, email: str, rating: int | None, short: str | None
) -> Account:
    """A signed-in member whose VATSIM rating is set as VATSIM Connect would set it."""
    account = await make_account(db, client, email=email, role=Role.MEMBER)
    async with db.engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE users SET rating_id = :r, rating_short = :s WHERE id = :id"),
            {"r": rating, "s": short, "id": account.id},
        )
    return account


async def rated_event(
    client: httpx.AsyncClient, organizer: Account, **rules: Any
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    event = await make_event(client, organizer, hold_seconds=0, **rules)
    bodies = [
        {"position_name": "EGLL_TWR", "min_rating": 3},
        {"position_name": "EGLL_GND"},
        {"position_name": "EGLL_APP", "min_rating": "S3"},
        {"position_name": "BAW1 EGLL-KJFK", "position_type": "PILOT"},
    ]
    slots = await make_slots(client, organizer, event, bodies)
    return event, {s["position_name"].split()[0]: s for s in slots}


async def book(
    client: httpx.AsyncClient, slot: dict[str, Any], who: Account | None, **body: Any
) -> httpx.Response:
    headers = who.headers if who else {}
    payload = body or booking_body("JDOE")
    return await client.post(f"/api/slots/{slot['id']}/book", json=payload, headers=headers)


async def test_min_rating_in_slot_schemas_and_validated(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await rated_event(client, organizer)
    assert slots["EGLL_TWR"]["min_rating"] == 3
    assert slots["EGLL_APP"]["min_rating"] == 4  # a short name is taken too
    assert slots["EGLL_GND"]["min_rating"] is None
    shown = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert {s["position_name"]: s["min_rating"] for s in shown}["EGLL_TWR"] == 3
    for wrong in (6, 9, 13, 0, "S4", True):
        refused = await client.post(
            f"/api/events/{event['id']}/slots",
            json={"position_name": "EGLL_DEL", "min_rating": wrong},
            headers=organizer.headers,
        )
        assert refused.status_code == 422, (wrong, refused.text)
        assert "VATSIM rating" in refused.text
    gnd = slots["EGLL_GND"]
    patched = await client.patch(
        f"/api/slots/{gnd['id']}", json={"min_rating": 2}, headers=organizer.headers
    )
    assert patched.status_code == 200 and patched.json()["min_rating"] == 2
    cleared = await client.patch(
        f"/api/slots/{gnd['id']}", json={"min_rating": None}, headers=organizer.headers
    )
    assert cleared.json()["min_rating"] is None
    bad = await client.patch(
        f"/api/slots/{gnd['id']}", json={"min_rating": 6}, headers=organizer.headers
    )
    assert bad.status_code == 422


async def test_generate_and_csv_carry_min_rating(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    generated = await client.post(
        f"/api/events/{event['id']}/slots/generate",
        json={"kind": "atc", "positions": ["EGLL_TWR"], "block_minutes": 180, "min_rating": "S2"},
        headers=organizer.headers,
    )
    assert generated.status_code == 201, generated.text
    assert {s["min_rating"] for s in generated.json()["slots"]} == {3}
    exported = await client.get(f"/api/events/{event['id']}/slots.csv", headers=organizer.headers)
    lines = exported.text.splitlines()
    assert lines[0].endswith(",min_rating") and lines[1].endswith(",S2")
    other = await make_event(client, organizer, title="Other")
    csv = "position_name,rating\nEGLL_DEL,s1\nEGLL_CTR,5\nEGLL_GND,\nEGLL_APP,C2\n"
    csv_headers = {"Content-Type": "text/csv", **organizer.headers}
    report = await client.post(
        f"/api/events/{other['id']}/slots/import?dry_run=true",
        content=csv.encode(),
        headers=csv_headers,
    )
    problems = report.json()["errors"]
    assert [(p["line"], p["column"]) for p in problems] == [(5, "min_rating")], problems
    fixed = csv.replace("C2", "S3")
    imported = await client.post(
        f"/api/events/{other['id']}/slots/import", content=fixed.encode(), headers=csv_headers
    )
    assert imported.status_code == 201, imported.text
    shown = (await client.get(f"/api/events/{other['id']}")).json()["slots"]
    assert {s["position_name"]: s["min_rating"] for s in shown} == {
        "EGLL_DEL": 2, "EGLL_CTR": 5, "EGLL_GND": None, "EGLL_APP": 4,
    }  # fmt: skip


async def test_event_settings_flow_through(client: httpx.AsyncClient, organizer: Account) -> None:
    event = await make_event(client, organizer)
    assert (event["booking_requires_login"], event["apply_rating_defaults"]) == (False, False)
    changed = await client.patch(
        f"/api/events/{event['id']}",
        json={"booking_requires_login": True, "apply_rating_defaults": True},
        headers=organizer.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["booking_requires_login"] is True
    assert changed.json()["apply_rating_defaults"] is True
    refused = await client.patch(
        f"/api/events/{event['id']}",
        json={"apply_rating_defaults": None},
        headers=organizer.headers,
    )
    assert refused.status_code == 422
    audit = (await client.get(f"/api/events/{event['id']}/audit", headers=organizer.headers)).json()
    assert any("apply_rating_defaults" in str(row["payload"]) for row in audit)


async def test_rated_slot_needs_signed_in_controller_with_the_rating(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    _, slots = await rated_event(client, organizer)
    twr = slots["EGLL_TWR"]
    anonymous = await book(client, twr, None)
    assert anonymous.status_code == 403
    assert anonymous.json()["code"] == "login_required"
    assert "S2 or higher" in anonymous.json()["detail"]
    s1 = await member(db, client, "s1@example.com", 2, "S1")
    low = await book(client, twr, s1)
    assert low.status_code == 409
    assert low.json() == {
        "detail": "EGLL_TWR needs S2 or higher; your rating is S1.",
        "code": "rating_too_low",
    }
    password_only = await member(db, client, "pw@example.com", None, None)
    none = await book(client, twr, password_only)
    assert none.status_code == 409 and none.json()["code"] == "rating_too_low"
    assert "no VATSIM rating" in none.json()["detail"]
    assert "sign in with VATSIM" in none.json()["detail"]
    # Anyone may still book slots without a rule, signed in or not.
    assert (await book(client, slots["EGLL_GND"], None)).status_code == 201
    assert (await book(client, slots["BAW1"], s1, pilot_callsign="BAW1")).status_code == 201
    # S2 and above (I1, SUP) may; the booking keeps the account and its name.
    s2 = await member(db, client, "s2@example.com", 3, "S2")
    taken = await book(client, twr, s2, pilot_callsign="EGLLTWR")
    assert taken.status_code == 201, taken.text
    assert taken.json()["pilot_name"] == "S2"  # the account's name: none was given
    sup = await member(db, client, "sup@example.com", 11, "SUP")
    assert (await book(client, slots["EGLL_APP"], sup, pilot_callsign="EGLLAPP")).status_code == 201
    async with db.engine.connect() as connection:
        owner = (
            await connection.execute(
                sa.text("SELECT user_id, pilot_name FROM bookings WHERE slot_id = :s"),
                {"s": twr["id"]},
            )
        ).one()
    assert tuple(owner) == (s2.id, "S2")


async def test_rating_defaults_by_position_type(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await rated_event(client, organizer, apply_rating_defaults=True)
    s1 = await member(db, client, "s1@example.com", 2, "S1")
    assert (await book(client, slots["EGLL_GND"], None)).json()["code"] == "login_required"
    assert (await book(client, slots["EGLL_GND"], s1, pilot_callsign="EGLLGND")).status_code == 201
    app = await book(client, slots["EGLL_APP"], s1)
    assert app.json()["detail"] == "EGLL_APP needs S3 or higher; your rating is S1."
    # Pilot slots have no default: anonymous booking stays.
    pilot = await book(client, slots["BAW1"], None, pilot_name="P", pilot_callsign="BAW1")
    assert pilot.status_code == 201, pilot.text
    names = ("EGLL_CTR", "EGLL_DEL", "EGLL_ATIS")
    more = await make_slots(client, organizer, event, [{"position_name": n} for n in names])
    c1_needed = await book(client, more[0], s1)
    assert c1_needed.json()["detail"] == "EGLL_CTR needs C1 or higher; your rating is S1."
    assert (await book(client, more[1], s1, pilot_callsign="EGLLDEL")).status_code == 201
    assert (
        await book(client, more[2], None, pilot_name="A", pilot_callsign="EGLLATIS")
    ).status_code == 201


async def test_login_only_event(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event, slots = await rated_event(client, organizer, booking_requires_login=True)
    gnd = slots["EGLL_GND"]
    refused = await book(client, gnd, None)
    assert refused.status_code == 403 and refused.json()["code"] == "login_required"
    assert "signed-in members only" in refused.json()["detail"]
    somebody = await member(db, client, "m@example.com", None, None)
    booked = await client.post(
        f"/api/slots/{gnd['id']}/book",
        json={"pilot_callsign": "EGLLGND"},  # no name: the account's
        headers=somebody.headers,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["pilot_name"] == "M"
    wait = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_name": "Anon", "pilot_callsign": "ANON1", "slot_id": gnd["id"]},
    )
    assert wait.status_code == 403 and wait.json()["code"] == "login_required"
    # The organizer may assign anyone, rules or not.
    assigned = await client.post(
        f"/api/slots/{slots['EGLL_TWR']['id']}/assign",
        json=booking_body("EGLLTWR", "Named Person"),
        headers=organizer.headers,
    )
    assert assigned.status_code == 201, assigned.text
    no_name = await client.post(
        f"/api/slots/{slots['EGLL_APP']['id']}/assign",
        json={"pilot_callsign": "EGLLAPP"},
        headers=organizer.headers,
    )
    assert no_name.status_code == 422  # an assignment names its person


async def test_holds_follow_the_rules(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, hold_seconds=300)
    [twr] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", "min_rating": 3}]
    )
    anonymous = await client.post(f"/api/slots/{twr['id']}/hold")
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "login_required"
    s1 = await member(db, client, "s1@example.com", 2, "S1")
    low = await client.post(f"/api/slots/{twr['id']}/hold", headers=s1.headers)
    assert low.status_code == 409 and low.json()["code"] == "rating_too_low"
    # A hold made by a rated controller does not let a low-rated one book with its token.
    s3 = await member(db, client, "s3@example.com", 4, "S3")
    hold = await client.post(f"/api/slots/{twr['id']}/hold", headers=s3.headers)
    assert hold.status_code == 201, hold.text
    token = hold.json()["hold_token"]
    stolen = await book(client, twr, s1, **booking_body("JDOE"), hold_token=token)
    assert stolen.status_code == 409 and stolen.json()["code"] == "rating_too_low"
    anon = await book(client, twr, None, **booking_body("JDOE"), hold_token=token)
    assert anon.status_code == 403
    claimed = await book(client, twr, s3, pilot_callsign="EGLLTWR", hold_token=token)
    assert claimed.status_code == 201, claimed.text


async def test_waitlist_passes_rated_slots_only_to_rated_waiters(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, hold_seconds=0, waitlist_mode="claim")
    [twr] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", "min_rating": 3}]
    )
    s2 = await member(db, client, "s2@example.com", 3, "S2")
    first = await book(client, twr, s2, pilot_callsign="EGLLTWR")
    assert first.status_code == 201
    join = f"/api/events/{event['id']}/waitlist"
    anon = await client.post(
        join, json={"pilot_name": "A", "pilot_callsign": "ANON1", "slot_id": twr["id"]}
    )
    assert anon.status_code == 403 and anon.json()["code"] == "login_required"
    s1 = await member(db, client, "s1@example.com", 2, "S1")
    low = await client.post(
        join, json={"pilot_callsign": "LOW1", "slot_id": twr["id"]}, headers=s1.headers
    )
    assert low.status_code == 409 and low.json()["code"] == "rating_too_low"
    # Waiting for any slot is open to anyone, but a rated slot passes them over.
    anyone = await client.post(join, json={"pilot_name": "Any", "pilot_callsign": "ANY1"})
    assert anyone.status_code == 201, anyone.text
    low_any = await client.post(join, json={"pilot_callsign": "LOW2"}, headers=s1.headers)
    assert low_any.status_code == 201
    s3 = await member(db, client, "s3@example.com", 4, "S3")
    rated = await client.post(
        join, json={"pilot_callsign": "RATED1", "slot_id": twr["id"]}, headers=s3.headers
    )
    assert rated.status_code == 201, rated.text
    released = await client.post(f"/api/bookings/{first.json()['id']}/release", headers=s2.headers)
    assert released.status_code == 200, released.text  # the signed-in booker, no manage token
    shown = next(
        s
        for s in (await client.get(f"/api/events/{event['id']}")).json()["slots"]
        if s["id"] == twr["id"]
    )
    assert shown["booking"]["pilot_callsign"] == "RATED1"  # the two earlier waiters passed over
    async with db.engine.connect() as connection:
        user_id = (
            await connection.execute(
                sa.text("SELECT user_id FROM bookings WHERE status = 'claimed' AND slot_id = :s"),
                {"s": twr["id"]},
            )
        ).scalar_one()
    assert user_id == s3.id


async def test_accepting_an_offer_rechecks_the_rules(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, hold_seconds=0, waitlist_mode="offer")
    [twr] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", "min_rating": 2}]
    )
    s1 = await member(db, client, "s1@example.com", 2, "S1")
    first = await book(client, twr, s1, pilot_callsign="EGLLTWR")
    s1b = await member(db, client, "s1b@example.com", 2, "S1")
    joined = await client.post(
        f"/api/events/{event['id']}/waitlist",
        json={"pilot_callsign": "NEXT1", "slot_id": twr["id"]},
        headers=s1b.headers,
    )
    assert joined.status_code == 201
    await client.post(f"/api/bookings/{first.json()['id']}/release", headers=s1.headers)
    # The organizer raises the slot's rating while the offer is open: it cannot be accepted.
    raised = await client.patch(
        f"/api/slots/{twr['id']}", json={"min_rating": 3}, headers=organizer.headers
    )
    assert raised.status_code == 200
    entry = joined.json()
    accept = await client.post(
        f"/api/waitlist/{entry['id']}/accept", headers={"X-Manage-Token": entry["manage_token"]}
    )
    assert accept.status_code == 409 and accept.json()["code"] == "rating_too_low"


async def test_release_by_signed_in_booker_only_for_own_booking(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, hold_seconds=0)
    [slot] = await make_slots(client, organizer, event, [{"position_name": "EGLL_GND"}])
    mine = await member(db, client, "me@example.com", None, None)
    other = await member(db, client, "other@example.com", None, None)
    booked = await book(client, slot, mine, pilot_callsign="MINE1")
    url = f"/api/bookings/{booked.json()['id']}/release"
    refused = await client.post(url, headers=other.headers)
    assert refused.status_code == 403
    assert (await client.post(url, headers=mine.headers)).status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_hold_then_book_race_on_postgres_keeps_low_ratings_out(
    db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    """PostgreSQL, concurrent requests: low-rated controllers racing for a rated slot's hold,
    then for its claim with the rated holder's leaked token, never get it; the holder does."""
    event = await make_event(client, organizer, hold_seconds=300)
    [twr] = await make_slots(
        client, organizer, event, [{"position_name": "EGLL_TWR", "min_rating": 3}]
    )
    lows = [await member(db, client, f"low{i}@example.com", 2, "S1") for i in range(6)]
    rated = await member(db, client, "rated@example.com", 3, "S2")
    url = f"/api/slots/{twr['id']}"
    holds = await asyncio.gather(
        *(client.post(f"{url}/hold", headers=a.headers) for a in [*lows, rated])
    )
    assert [h.status_code for h in holds[:-1]] == [409] * len(lows)
    assert {h.json()["code"] for h in holds[:-1]} == {"rating_too_low"}
    assert holds[-1].status_code == 201, holds[-1].text
    token = holds[-1].json()["hold_token"]
    claims = await asyncio.gather(
        *(
            client.post(
                f"{url}/book",
                json={"pilot_callsign": f"LOW{i}", "hold_token": token},
                headers=a.headers,
            )
            for i, a in enumerate(lows)
        ),
        client.post(
            f"{url}/book", json={"pilot_callsign": "EGLLTWR", "hold_token": token},
            headers=rated.headers,
        ),
    )  # fmt: skip
    assert [c.json()["code"] for c in claims[:-1]] == ["rating_too_low"] * len(lows)
    assert claims[-1].status_code == 201, claims[-1].text
    async with db.engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.text("SELECT user_id, status FROM bookings WHERE slot_id = :s"),
                {"s": twr["id"]},
            )
        ).all()
    assert [tuple(r) for r in rows] == [(rated.id, "claimed")]


async def test_organizer_pages_edit_the_rules(
    app: FastAPI, db: Database, client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    web, csrf = await browser_session(app, organizer)
    form = await web.get(f"/organizer/events/{event['id']}/edit")
    assert (
        'name="booking_requires_login"' in form.text and 'name="apply_rating_defaults"' in form.text
    )
    edit = {
        "csrf_token": csrf, "title": event["title"], "airport_icao": "EGLL",
        "timezone": "Europe/London", "start_datetime": event["start_datetime"][:16],
        "end_datetime": event["end_datetime"][:16], "description": "",
        "booking_requires_login": "true", "apply_rating_defaults": "true",
    }  # fmt: skip
    saved = await web.post(f"/organizer/events/{event['id']}/edit", data=edit)
    assert saved.status_code == 303, saved.text
    shown = (await client.get(f"/api/events/{event['id']}")).json()
    assert (shown["booking_requires_login"], shown["apply_rating_defaults"]) == (True, True)
    added = await web.post(
        f"/organizer/events/{event['id']}/slots",
        data={"csrf_token": csrf, "position_name": "EGLL_TWR", "min_rating": "5", "notes": ""},
    )
    assert added.status_code == 303, added.text
    [twr] = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert twr["min_rating"] == 5
    page = await web.get(f"/organizer/events/{event['id']}")
    assert 'data-role="rating-badge"' in page.text and "C1+" in page.text
    changed = await web.post(
        f"/organizer/slots/{twr['id']}",
        data={"csrf_token": csrf, "action": "rating", "min_rating": ""},
    )
    assert changed.status_code == 303
    after = (await client.get(f"/api/events/{event['id']}")).json()["slots"][0]
    assert after["min_rating"] is None
    page = await web.get(f"/organizer/events/{event['id']}")
    assert "S2+" in page.text  # no own minimum: the usual rating of a TWR
    wrong = await web.post(
        f"/organizer/slots/{twr['id']}",
        data={"csrf_token": csrf, "action": "rating", "min_rating": "6"},
    )
    assert wrong.status_code == 303
    assert "not a VATSIM rating id" in (await web.get(f"/organizer/events/{event['id']}")).text
