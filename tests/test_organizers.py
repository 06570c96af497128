"""Co-organizers: the API, who may add and remove them, what they may do, and the pages."""

from __future__ import annotations

import httpx

from skyslots.db import Database
from skyslots.models import Role
from tests.helpers import Account, booking_body, make_account, make_event, make_slots, pilot_slots
from tests.test_web_views import page_csrf, web_login


async def team(client: httpx.AsyncClient, db: Database) -> dict[str, Account]:
    return {
        "owner": await make_account(db, client, email="owner@example.com"),
        "co": await make_account(db, client, email="co@example.com", role=Role.MEMBER),
        "other": await make_account(db, client, email="other@example.com"),
        "member": await make_account(db, client, email="member@example.com", role=Role.MEMBER),
        "admin": await make_account(db, client, email="admin@example.com", role=Role.ADMIN),
    }


async def add(client: httpx.AsyncClient, event: dict, by: Account, email: str) -> httpx.Response:
    return await client.post(
        f"/api/events/{event['id']}/organizers", json={"email": email}, headers=by.headers
    )


async def test_owner_adds_lists_and_removes_a_co_organizer(
    client: httpx.AsyncClient, db: Database
) -> None:
    people = await team(client, db)
    owner, co = people["owner"], people["co"]
    event = await make_event(client, owner)
    added = await add(client, event, owner, "CO@example.com")
    assert added.status_code == 201, added.text
    assert added.json()["user_id"] == co.id
    assert added.json()["name"] == "Co" and added.json()["email"] == "co@example.com"
    assert added.json()["role"] == "co_organizer"

    listed = await client.get(f"/api/events/{event['id']}/organizers", headers=co.headers)
    assert listed.status_code == 200
    assert [(o["user_id"], o["role"]) for o in listed.json()] == [
        (owner.id, "owner"),
        (co.id, "co_organizer"),
    ]

    again = await add(client, event, owner, "co@example.com")
    assert again.status_code == 409 and again.json()["code"] == "already_organizer"
    itself = await add(client, event, owner, "owner@example.com")
    assert itself.status_code == 409 and itself.json()["code"] == "already_organizer"
    nobody = await add(client, event, owner, "nobody@example.com")
    assert nobody.status_code == 404 and nobody.json()["code"] == "user_not_found"
    bad = await add(client, event, owner, "not an email")
    assert bad.status_code == 422

    path = f"/api/events/{event['id']}/organizers/{co.id}"
    removed = await client.delete(path, headers=owner.headers)
    assert removed.status_code == 204
    gone = await client.delete(path, headers=owner.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "organizer_not_found"
    owner_itself = await client.delete(
        f"/api/events/{event['id']}/organizers/{owner.id}", headers=owner.headers
    )
    assert owner_itself.status_code == 404
    after = await client.get(f"/api/events/{event['id']}/organizers", headers=co.headers)
    assert after.status_code == 403


async def test_only_the_owner_or_an_admin_chooses_organizers(
    client: httpx.AsyncClient, db: Database
) -> None:
    people = await team(client, db)
    event = await make_event(client, people["owner"])
    assert (await add(client, event, people["co"], "co@example.com")).status_code == 403
    assert (await add(client, event, people["owner"], "co@example.com")).status_code == 201
    by_co = await add(client, event, people["co"], "member@example.com")
    assert by_co.status_code == 403 and by_co.json()["code"] == "not_owner"
    by_other = await add(client, event, people["other"], "member@example.com")
    assert by_other.status_code == 403
    by_member = await add(client, event, people["member"], "member@example.com")
    assert by_member.status_code == 403
    anonymous = await client.post(
        f"/api/events/{event['id']}/organizers", json={"email": "member@example.com"}
    )
    assert anonymous.status_code == 401
    path = f"/api/events/{event['id']}/organizers/{people['co'].id}"
    assert (await client.delete(path, headers=people["co"].headers)).status_code == 403
    assert (await client.delete(path, headers=people["other"].headers)).status_code == 403
    assert (await client.delete(path)).status_code == 401
    by_admin = await add(client, event, people["admin"], "member@example.com")
    assert by_admin.status_code == 201
    assert (await client.delete(path, headers=people["admin"].headers)).status_code == 204
    unknown = await client.post(
        "/api/events/999999/organizers",
        json={"email": "co@example.com"},
        headers=people["owner"].headers,
    )
    assert unknown.status_code == 404


async def test_a_co_organizer_manages_the_event_but_cannot_delete_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    people = await team(client, db)
    owner, co = people["owner"], people["co"]
    event = await make_event(client, owner, status="draft")
    assert (await client.get(f"/api/events/{event['id']}", headers=co.headers)).status_code == 404
    assert (await add(client, event, owner, co.email)).status_code == 201
    # A member account that co-organizes sees the draft and manages it like the owner.
    assert (await client.get(f"/api/events/{event['id']}", headers=co.headers)).status_code == 200
    slots = await make_slots(client, co, event, pilot_slots(2))
    patched = await client.patch(
        f"/api/events/{event['id']}", json={"title": "Renamed", "status": "published"},
        headers=co.headers,
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["title"] == "Renamed"
    assigned = await client.post(
        f"/api/slots/{slots[0]['id']}/assign", json=booking_body("BAW1"), headers=co.headers
    )
    assert assigned.status_code == 201
    booking_id = assigned.json()["id"]
    moved = await client.post(
        f"/api/bookings/{booking_id}/move", json={"slot_id": slots[1]["id"]}, headers=co.headers
    )
    assert moved.status_code == 200, moved.text
    released = await client.post(f"/api/bookings/{booking_id}/release", headers=co.headers)
    assert released.status_code == 200
    for path in ("bookings", "audit", "deliveries", "webhooks", "waitlist"):
        got = await client.get(f"/api/events/{event['id']}/{path}", headers=co.headers)
        assert got.status_code == 200, (path, got.text)
    # ...but only organizer-role accounts create events, and only the owner deletes this one.
    created = await client.post("/api/events", json={}, headers=co.headers)
    assert created.status_code == 403
    deleted = await client.delete(f"/api/events/{event['id']}", headers=co.headers)
    assert deleted.status_code == 403 and deleted.json()["code"] == "not_owner"
    # Removed, they lose it all at once.
    await client.delete(f"/api/events/{event['id']}/organizers/{co.id}", headers=owner.headers)
    locked_out = await client.get(f"/api/events/{event['id']}/bookings", headers=co.headers)
    assert locked_out.status_code == 403
    assert (
        await client.delete(f"/api/events/{event['id']}", headers=owner.headers)
    ).status_code == 204


async def test_organizers_page_adds_and_removes_with_csrf_and_escapes(
    client: httpx.AsyncClient, db: Database
) -> None:
    people = await team(client, db)
    owner = people["owner"]
    event = await make_event(client, owner, title="<b>Rush</b>")
    await web_login(client, owner.email)
    page = f"/organizer/events/{event['id']}/organizers"
    token = await page_csrf(client, page)

    refused = await client.post(page, data={"email": "co@example.com", "csrf_token": "forged"})
    assert refused.status_code == 403
    added = await client.post(page, data={"email": "co@example.com", "csrf_token": token})
    assert added.status_code == 303
    shown = await client.get(page)
    assert f'data-organizer="{people["co"].id}"' in shown.text
    assert "&lt;b&gt;Rush&lt;/b&gt;" in shown.text and "<b>Rush</b>" not in shown.text

    missing = await client.post(
        page, data={"email": "<script>x</script>@example.com", "csrf_token": token}
    )
    assert missing.status_code == 422 and "<script>x</script>" not in missing.text
    unknown = await client.post(page, data={"email": "ghost@example.com", "csrf_token": token})
    assert unknown.status_code == 404 and "No SkySlots account" in unknown.text
    twice = await client.post(page, data={"email": "co@example.com", "csrf_token": token})
    assert twice.status_code == 409

    remove = f"{page}/{people['co'].id}/remove"
    assert (await client.post(remove, data={"csrf_token": "forged"})).status_code == 403
    assert (await client.post(remove, data={"csrf_token": token})).status_code == 303
    assert f'data-organizer="{people["co"].id}"' not in (await client.get(page)).text


async def test_co_organizer_sees_the_event_on_the_dashboard_but_no_owner_forms(
    client: httpx.AsyncClient, db: Database
) -> None:
    people = await team(client, db)
    event = await make_event(client, people["owner"], title="Shared Rush")
    mine = await make_event(client, people["other"], title="Not Shared")
    await add(client, event, people["owner"], people["co"].email)
    await web_login(client, people["co"].email)
    dashboard = await client.get("/organizer")
    assert dashboard.status_code == 200
    assert "Shared Rush" in dashboard.text and "Not Shared" not in dashboard.text
    assert 'data-role="co-organized"' in dashboard.text
    assert "/organizer/events/new" not in dashboard.text  # a member account creates no events
    assert (await client.get("/organizer/events/new")).status_code == 403
    tab = await client.get(f"/organizer/events/{event['id']}/organizers")
    assert tab.status_code == 200 and 'data-role="add-organizer"' not in tab.text
    token = await page_csrf(client, f"/organizer/events/{event['id']}")
    refused = await client.post(
        f"/organizer/events/{event['id']}/organizers",
        data={"email": "member@example.com", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert (await client.get(f"/organizer/events/{mine['id']}")).status_code == 403
