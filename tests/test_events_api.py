"""Events API: create, list, get, update, delete, and the roster version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import (
    Account,
    booking_body,
    event_body,
    event_start,
    make_account,
    make_event,
    make_slots,
    pilot_slots,
)


@pytest.fixture
async def organizer(client: httpx.AsyncClient, db: Database) -> Account:
    return await make_account(db, client, email="org@example.com")


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as connection:
        return (await connection.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def find_key(value: Any, key: str) -> bool:
    """Whether `key` appears as a key anywhere in a JSON document."""
    if isinstance(value, dict):
        return key in value or any(find_key(v, key) for v in value.values())
    if isinstance(value, list):
        return any(find_key(v, key) for v in value)
    return False


# --- create -----------------------------------------------------------------------------------


async def test_create_defaults_to_draft_and_fills_airport(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    body = event_body(airport_icao="egll")
    del body["status"]
    response = await client.post("/api/events", json=body, headers=organizer.headers)
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["status"] == "draft"
    assert event["airport_icao"] == "EGLL"
    assert "Heathrow" in event["airport_name"]
    assert event["timezone"] == "Europe/London"
    assert event["organizer_id"] == organizer.id
    assert event["version"] == 0
    assert moment(event["start_datetime"]) == moment(body["start_datetime"])


async def test_create_keeps_an_explicit_timezone(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, airport_icao="KJFK", timezone="UTC")
    assert event["timezone"] == "UTC"
    assert "Kennedy" in event["airport_name"]


async def test_create_unknown_icao_needs_a_timezone(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    response = await client.post(
        "/api/events", json=event_body(airport_icao="ZZZZ"), headers=organizer.headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert await count(db, "events") == 0

    event = await make_event(client, organizer, airport_icao="zzzz", timezone="Europe/Berlin")
    assert event["airport_icao"] == "ZZZZ"
    assert event["timezone"] == "Europe/Berlin"
    assert event["airport_name"] == ""


BAD_EVENTS = {
    "bad-timezone": {"timezone": "Mars/Olympus_Mons"},
    "short-icao": {"airport_icao": "EGL"},
    "digit-icao": {"airport_icao": "EG1L"},
    "blank-title": {"title": "   "},
    "end-equals-start": {"end_datetime": event_start().isoformat()},
    "end-before-start": {"end_datetime": (event_start() - timedelta(hours=1)).isoformat()},
    "window-reversed": {
        "booking_opens_at": event_start(days=2).isoformat(),
        "booking_closes_at": event_start(days=1).isoformat(),
    },
    "bad-status": {"status": "archived"},
    "nul-title": {"title": "Heathrow\x00Rush"},
    "nul-description": {"description": "nul \x00 inside"},
    "before-year-1": {"start_datetime": "0001-01-01T00:00:00+01:00"},
    "after-year-9999": {"end_datetime": "9999-12-31T23:59:59-01:00"},
}


async def test_create_rejects_bad_input(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    for case, overrides in BAD_EVENTS.items():
        response = await client.post(
            "/api/events", json=event_body(**overrides), headers=organizer.headers
        )
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
    assert await count(db, "events") == 0
    assert await count(db, "audit_logs") == 0


async def test_naive_datetimes_are_taken_as_utc(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(
        client,
        organizer,
        start_datetime="2030-06-01T18:00:00",
        end_datetime="2030-06-01T22:00:00",
        booking_opens_at="2030-05-01T12:00:00+02:00",
    )
    assert moment(event["start_datetime"]) == datetime(2030, 6, 1, 18, tzinfo=UTC)
    assert moment(event["end_datetime"]) == datetime(2030, 6, 1, 22, tzinfo=UTC)
    assert moment(event["booking_opens_at"]) == datetime(2030, 5, 1, 10, tzinfo=UTC)
    assert moment(event["start_datetime"]).utcoffset() == timedelta(0)


# --- list -------------------------------------------------------------------------------------


async def test_list_shows_published_upcoming_first_then_past(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)

    def span(start: datetime, hours: int = 4) -> dict[str, str]:
        return {
            "start_datetime": start.isoformat(),
            "end_datetime": (start + timedelta(hours=hours)).isoformat(),
        }

    later = await make_event(client, organizer, title="Later", **span(now + timedelta(days=9)))
    soon = await make_event(client, organizer, title="Soon", **span(now + timedelta(days=2)))
    long_ago = await make_event(client, organizer, title="Long ago", **span(now - timedelta(20)))
    running = await make_event(client, organizer, title="Running", **span(now - timedelta(hours=1)))
    recent = await make_event(client, organizer, title="Recent", **span(now - timedelta(days=3)))
    await make_event(client, organizer, title="Draft", status="draft")
    await make_event(client, organizer, title="Cancelled", status="cancelled")

    response = await client.get("/api/events")
    assert response.status_code == 200
    page = response.json()
    assert page["total"] == 5
    assert [e["id"] for e in page["items"]] == [
        running["id"],
        soon["id"],
        later["id"],
        recent["id"],
        long_ago["id"],
    ]

    page = (await client.get("/api/events", params={"limit": 2, "offset": 1})).json()
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [e["title"] for e in page["items"]] == ["Soon", "Later"]

    page = (await client.get("/api/events", params={"offset": 10})).json()
    assert page == {"items": [], "total": 5, "limit": 20, "offset": 10}


async def test_list_filters_by_airport_and_time_range(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    start = event_start(days=10)
    heathrow = await make_event(client, organizer, title="Heathrow")
    frankfurt = await make_event(
        client,
        organizer,
        title="Frankfurt",
        airport_icao="EDDF",
        start_datetime=start.isoformat(),
        end_datetime=(start + timedelta(hours=3)).isoformat(),
    )

    page = (await client.get("/api/events", params={"airport": "eddf"})).json()
    assert [e["id"] for e in page["items"]] == [frankfurt["id"]]
    assert page["total"] == 1
    page = (await client.get("/api/events", params={"airport": "KJFK"})).json()
    assert page == {"items": [], "total": 0, "limit": 20, "offset": 0}

    page = (await client.get("/api/events", params={"from": start.isoformat()})).json()
    assert [e["id"] for e in page["items"]] == [frankfurt["id"]]
    to = (start - timedelta(days=1)).isoformat()
    page = (await client.get("/api/events", params={"to": to})).json()
    assert [e["id"] for e in page["items"]] == [heathrow["id"]]
    # A naive bound is UTC too; an event that overlaps the range counts.
    inside = (start + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    page = (await client.get("/api/events", params={"from": inside, "to": inside})).json()
    assert [e["id"] for e in page["items"]] == [frankfurt["id"]]

    for params in ({"airport": "EGLLX"}, {"limit": 0}, {"limit": 101}, {"offset": -1}):
        response = await client.get("/api/events", params=params)
        assert response.status_code == 422, params


# --- get --------------------------------------------------------------------------------------


async def test_get_shows_slots_and_public_booking_fields_only(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    free, taken = await make_slots(client, organizer, event, pilot_slots(2))
    claim = await client.post(
        f"/api/slots/{taken['id']}/book",
        json=booking_body("baw9", "  Jane   Doe ", email="Jane.Doe@Example.com", notes="hi"),
    )
    assert claim.status_code == 201, claim.text

    for headers in ({}, organizer.headers):
        response = await client.get(f"/api/events/{event['id']}", headers=headers)
        assert response.status_code == 200
        detail = response.json()
        assert [s["id"] for s in detail["slots"]] == [free["id"], taken["id"]]
        assert detail["slots"][0]["booking"] is None
        booking = detail["slots"][1]["booking"]
        assert booking["pilot_callsign"] == "BAW9"
        assert booking["pilot_name"] == "Jane Doe"
        assert booking["status"] == "claimed"
        assert not find_key(detail, "email")
        assert not find_key(detail, "manage_token")
        assert not find_key(detail, "manage_token_hash")
        assert "example.com" not in response.text.lower()


async def test_get_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/events/987654")
    assert response.status_code == 404
    assert response.json() == {"detail": "Event 987654 does not exist.", "code": "event_not_found"}


async def test_draft_is_visible_only_to_its_organizer_and_admins(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    other = await make_account(db, client, email="other@example.com")
    admin = await make_account(db, client, email="admin@example.com", role=Role.ADMIN)
    draft = await make_event(client, organizer, status="draft")
    url = f"/api/events/{draft['id']}"

    for headers in ({}, other.headers):
        response = await client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "event_not_found"
    for account in (organizer, admin):
        response = await client.get(url, headers=account.headers)
        assert response.status_code == 200
        assert response.json()["status"] == "draft"
    assert (await client.get("/api/events")).json()["total"] == 0


# --- update -----------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer, status="draft")
    url = f"/api/events/{event['id']}"
    response = await client.patch(url, json={"title": "  New   title "}, headers=organizer.headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["title"] == "New title"
    unchanged = ("description", "start_datetime", "end_datetime", "airport_icao", "status")
    for field in unchanged:
        assert updated[field] == event[field], field
    assert moment(updated["updated_at"]) >= moment(event["updated_at"])

    response = await client.patch(url, json={"status": "published"}, headers=organizer.headers)
    assert response.json()["status"] == "published"
    assert (await client.get(url)).status_code == 200
    assert (await client.get("/api/events")).json()["total"] == 1

    response = await client.patch(url, json={"status": "cancelled"}, headers=organizer.headers)
    assert response.json()["status"] == "cancelled"
    assert (await client.get("/api/events")).json()["total"] == 0
    assert (await client.get(url)).json()["status"] == "cancelled"


async def test_patch_airport_refills_name_and_timezone(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    url = f"/api/events/{event['id']}"
    response = await client.patch(url, json={"airport_icao": "eddf"}, headers=organizer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["airport_icao"] == "EDDF"
    assert response.json()["timezone"] == "Europe/Berlin"
    assert "Frankfurt" in response.json()["airport_name"]

    response = await client.patch(url, json={"airport_icao": "ZZZZ"}, headers=organizer.headers)
    assert response.status_code == 422
    assert (await client.get(url)).json()["airport_icao"] == "EDDF"
    response = await client.patch(
        url, json={"airport_icao": "ZZZZ", "timezone": "Asia/Tokyo"}, headers=organizer.headers
    )
    assert response.status_code == 200
    assert (response.json()["airport_name"], response.json()["timezone"]) == ("", "Asia/Tokyo")


async def test_patch_rejects_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    url = f"/api/events/{event['id']}"
    before = (await client.get(url)).json()
    audits = await count(db, "audit_logs")
    bad_patches = {
        "null-title": {"title": None},
        "null-description": {"description": None},
        "null-status": {"status": None},
        "null-start": {"start_datetime": None},
        "bad-timezone": {"timezone": "Nowhere/Special"},
        "end-at-start": {"end_datetime": event["start_datetime"]},
        "start-at-end": {"start_datetime": event["end_datetime"]},
        "window-reversed": {
            "booking_opens_at": event["start_datetime"],
            "booking_closes_at": event["start_datetime"],
        },
        "unknown-icao": {"airport_icao": "ZZZZ"},
        **{case: body for case, body in BAD_EVENTS.items() if case != "bad-status"},
    }
    for case, body in bad_patches.items():
        response = await client.patch(url, json=body, headers=organizer.headers)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["code"] == "validation_error", case
    assert (await client.get(url)).json() == before
    assert await count(db, "audit_logs") == audits

    response = await client.patch(url, json={"description": ""}, headers=organizer.headers)
    assert response.status_code == 200
    assert response.json()["description"] == ""


async def test_patch_moving_times_so_a_slot_falls_outside_is_refused(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    start = moment(event["start_datetime"])
    [slot] = await make_slots(
        client,
        organizer,
        event,
        [
            {
                "position_name": "EGLL_TWR",
                "start_time": start.isoformat(),
                "end_time": (start + timedelta(hours=2)).isoformat(),
            }
        ],
    )
    before = (await client.get(f"/api/events/{event['id']}")).json()
    audits = await count(db, "audit_logs")

    later = {"start_datetime": (start + timedelta(hours=1)).isoformat()}
    shorter = {"end_datetime": (start + timedelta(hours=1)).isoformat(), "title": "Shorter"}
    for body in (later, shorter):
        response = await client.patch(
            f"/api/events/{event['id']}", json=body, headers=organizer.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
    assert (await client.get(f"/api/events/{event['id']}")).json() == before
    assert await count(db, "audit_logs") == audits

    # Moving the whole event earlier while keeping the slot inside is fine.
    response = await client.patch(
        f"/api/events/{event['id']}",
        json={"start_datetime": (start - timedelta(hours=1)).isoformat()},
        headers=organizer.headers,
    )
    assert response.status_code == 200, response.text
    after = (await client.get(f"/api/events/{event['id']}")).json()
    assert moment(after["start_datetime"]) == start - timedelta(hours=1)
    assert after["slots"][0]["start_time"] == slot["start_time"]


async def test_patch_needs_the_organizer(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    other = await make_account(db, client, email="other@example.com")
    event = await make_event(client, organizer)
    url = f"/api/events/{event['id']}"
    response = await client.patch(url, json={"title": "Mine now"}, headers=other.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "not_organizer"
    assert (await client.patch(url, json={"title": "Anonymous"})).status_code == 401
    assert (await client.get(url)).json()["title"] == event["title"]
    response = await client.patch("/api/events/424242", json={}, headers=organizer.headers)
    assert response.status_code == 404


# --- delete -----------------------------------------------------------------------------------


async def test_delete_removes_the_event_with_its_slots_and_bookings(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    keep = await make_event(client, organizer, title="Keep")
    [kept_slot] = await make_slots(client, organizer, keep, pilot_slots(1))
    event = await make_event(client, organizer)
    slots = await make_slots(client, organizer, event, pilot_slots(3))
    for slot, callsign in zip(slots, ("BAW1", "BAW2"), strict=False):
        claim = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body(callsign))
        assert claim.status_code == 201
    await client.post(f"/api/slots/{kept_slot['id']}/book", json=booking_body("DLH1"))
    assert (await count(db, "slots"), await count(db, "bookings")) == (4, 3)

    url = f"/api/events/{event['id']}"
    other = await make_account(db, client, email="other@example.com")
    assert (await client.delete(url, headers=other.headers)).status_code == 403
    assert (await client.delete(url)).status_code == 401

    response = await client.delete(url, headers=organizer.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url, headers=organizer.headers)).status_code == 404
    assert (await count(db, "slots"), await count(db, "bookings")) == (1, 1)
    assert (await client.get(f"/api/events/{keep['id']}")).json()["slots"][0]["booking"]
    # The audit trail keeps the deletion (and the event's earlier rows, unlinked).
    async with db.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT action_type, user_id, event_id FROM audit_logs"
            " WHERE action_type = 'event.deleted'"
        )
        assert rows.all() == [("event.deleted", organizer.id, None)]
        linked = await connection.exec_driver_sql(
            f"SELECT count(*) FROM audit_logs WHERE event_id = {event['id']}"
        )
        assert linked.scalar_one() == 0


# --- roster version ---------------------------------------------------------------------------


async def test_version_counts_roster_changes(
    client: httpx.AsyncClient, db: Database, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    url = f"/api/events/{event['id']}"

    async def version() -> int:
        return (await client.get(url)).json()["version"]

    assert await version() == 0
    [slot] = await make_slots(client, organizer, event, pilot_slots(1))
    assert await version() == 1
    claim = (await client.post(f"/api/slots/{slot['id']}/book", json=booking_body())).json()
    assert await version() == 2
    release = await client.post(
        f"/api/bookings/{claim['id']}/release", headers={"X-Manage-Token": claim["manage_token"]}
    )
    assert release.status_code == 200
    assert await version() == 3
    patched = await client.patch(
        f"/api/slots/{slot['id']}", json={"is_locked": True}, headers=organizer.headers
    )
    assert patched.status_code == 200
    assert await version() == 4
    updated = await client.patch(url, json={"title": "Renamed"}, headers=organizer.headers)
    assert updated.json()["version"] == 5
    assert await version() == 5
    # A patch that changes nothing, and a refused claim, leave the version alone.
    assert (await client.patch(url, json={"title": "Renamed"}, headers=organizer.headers)).json()[
        "version"
    ] == 5
    refused = await client.post(f"/api/slots/{slot['id']}/book", json=booking_body("DLH2"))
    assert refused.status_code == 409
    assert await version() == 5
    deleted = await client.delete(f"/api/slots/{slot['id']}", headers=organizer.headers)
    assert deleted.status_code == 204
    assert await version() == 6


# --- hostile input: 422, never a database error -----------------------------------------------


async def test_out_of_range_ids_and_offsets_are_422(
    client: httpx.AsyncClient, organizer: Account
) -> None:
    event = await make_event(client, organizer)
    huge = 2**31
    requests = [
        ("GET", f"/api/events/{huge}", None),
        ("PATCH", f"/api/events/{huge}", {}),
        ("DELETE", f"/api/events/{huge}", None),
        ("POST", f"/api/events/{huge}/slots", {"position_name": "EGLL_TWR"}),
        ("POST", f"/api/events/{huge}/slots/bulk", [{"position_name": "EGLL_TWR"}]),
        ("PATCH", f"/api/slots/{huge}", {}),
        ("DELETE", f"/api/slots/{huge}", None),
        ("POST", f"/api/slots/{huge}/book", booking_body()),
        ("POST", f"/api/bookings/{huge}/release", None),
        ("GET", f"/api/events/{huge}/bookings", None),
        ("GET", f"/api/events/{huge}/audit", None),
        ("GET", f"/api/events/{event['id']}/audit?offset={10**20}", None),
        ("GET", f"/api/events?offset={10**20}", None),
    ]
    for method, url, body in requests:
        response = await client.request(method, url, json=body, headers=organizer.headers)
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["code"] == "validation_error"
    assert (await client.get(f"/api/events/{huge - 1}")).status_code == 404


async def test_list_time_filters_out_of_range_are_422(client: httpx.AsyncClient) -> None:
    for params in ({"from": "0001-01-01T00:00:00+01:00"}, {"to": "garbage"}):
        response = await client.get("/api/events", params=params)
        assert response.status_code == 422, params
