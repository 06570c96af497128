"""The HTML pages over plain HTTP: escaping, CSRF, the cookie session and who may see what."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from skyslots.db import Database
from skyslots.models import Role
from skyslots.web.forms import FormErrors, expand_bulk
from tests.helpers import (
    PASSWORD,
    Account,
    booking_body,
    event_start,
    make_account,
    make_event,
    make_slots,
    pilot_slots,
)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


async def web_login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    token = await page_csrf(client, "/login")
    return await client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token, "next": ""}
    )


async def published_event(
    client: httpx.AsyncClient, organizer: Account, **overrides: object
) -> tuple[dict, list[dict]]:
    event = await make_event(client, organizer, **overrides)
    start = event_start()
    atc = [
        {
            "position_name": "EGLL_TWR",
            "start_time": (start + timedelta(hours=2 * i)).isoformat(),
            "end_time": (start + timedelta(hours=2 * (i + 1))).isoformat(),
        }
        for i in range(2)
    ]
    slots = await make_slots(client, organizer, event, [*atc, *pilot_slots(2)])
    return event, slots


async def test_user_text_is_escaped_and_markdown_sanitized(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    description = (
        "**Bold** and <script>alert('desc')</script>\n\n"
        "[click](javascript:alert(1)) <img src=x onerror=alert(2)>"
    )
    event, slots = await published_event(
        client, organizer, title="<script>alert('title')</script> Rush", description=description
    )
    claim = await client.post(
        f"/api/slots/{slots[0]['id']}/book",
        json=booking_body("BAW1", name="</script><script>alert('name')</script>"),
    )
    assert claim.status_code == 201

    response = await client.get(f"/events/{event['id']}")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "same-origin"  # manage tokens stay here
    page = response.text
    assert "<script>alert(" not in page
    assert "</script><script>" not in page
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Rush" in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;name&#39;)" in page
    assert "<strong>Bold</strong>" in page
    assert 'href="javascript:' not in page
    assert "<img" not in page  # shown as text, never as an element with an onerror handler
    home = (await client.get("/")).text
    assert "<script>alert(" not in home and "&lt;script&gt;" in home


async def test_booking_form_without_javascript(client: httpx.AsyncClient, db: Database) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await published_event(client, organizer)
    path = f"/events/{event['id']}"
    form = await client.get(f"{path}?claim={slots[0]['id']}")
    assert 'dialog id="book"' in form.text and "open" in form.text
    data = {"pilot_name": "Jane Doe", "pilot_callsign": "baw123", "csrf_token": csrf_of(form.text)}
    booked = await client.post(f"{path}/book/{slots[0]['id']}", data=data)
    assert booked.status_code == 200, booked.text
    assert "on the roster" in booked.text
    manage = re.search(r'href="(/bookings/\d+/manage\?token=[^"]+)"', booked.text)
    assert manage, "no manage link"

    roster = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert roster[0]["booking"]["pilot_callsign"] == "BAW123"

    manage_page = await client.get(manage.group(1).replace("&amp;", "&"))
    assert manage_page.status_code == 200 and "BAW123" in manage_page.text
    token = re.search(r'name="token" value="([^"]+)"', manage_page.text)
    assert token
    released = await client.post(
        manage.group(1).split("?")[0],
        data={"token": token.group(1), "csrf_token": csrf_of(manage_page.text)},
    )
    assert released.status_code == 200 and "Released" in released.text
    roster = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert roster[0]["booking"] is None


async def test_booking_form_errors_sit_next_to_fields(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await published_event(client, organizer)
    path = f"/events/{event['id']}"
    token = await page_csrf(client, path)
    bad = await client.post(
        f"{path}/book/{slots[0]['id']}",
        data={"pilot_name": "  ", "pilot_callsign": "B!", "email": "nope", "csrf_token": token},
    )
    assert bad.status_code == 422
    for field in ("pilot_name", "pilot_callsign", "email"):
        error = re.search(rf'id="err-{field}"[^>]*>([^<]+)<', bad.text)
        assert error and error.group(1).strip(), f"no message next to {field}"
    assert 'value="B!"' in bad.text  # what the visitor typed is kept

    first = await client.post(f"/api/slots/{slots[0]['id']}/book", json=booking_body("BAW1"))
    assert first.status_code == 201
    late = await client.post(
        f"{path}/book/{slots[0]['id']}",
        data={"pilot_name": "Late", "pilot_callsign": "DLH2", "csrf_token": token},
    )
    assert late.status_code == 409
    assert "EGLL_TWR" in late.text and "was just claimed by BAW1" in late.text


async def test_forms_without_a_valid_csrf_token_are_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, slots = await published_event(client, organizer)
    target = f"/events/{event['id']}/book/{slots[0]['id']}"
    body = {"pilot_name": "Eve", "pilot_callsign": "EVE1"}

    assert (await client.post(target, data=body)).status_code == 403  # no cookie, no token
    await page_csrf(client, f"/events/{event['id']}")  # now the browser has a session
    assert (await client.post(target, data=body)).status_code == 403  # no token
    forged = {**body, "csrf_token": "guessed"}
    assert (await client.post(target, data=forged)).status_code == 403
    login = await client.post("/login", data={"email": organizer.email, "password": PASSWORD})
    assert login.status_code == 403
    roster = (await client.get(f"/api/events/{event['id']}")).json()["slots"]
    assert roster[0]["booking"] is None


async def test_session_cookie_flags_and_safe_redirects(
    client: httpx.AsyncClient, db: Database
) -> None:
    await make_account(db, client, email="org@example.com")
    token = await page_csrf(client, "/login")
    response = await client.post(
        "/login",
        data={
            "email": "org@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/organizer"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie

    wrong = await client.post(
        "/login",
        data={"email": "org@example.com", "password": "nope", "csrf_token": token},
    )
    assert wrong.status_code in (401, 403)


async def test_organizer_pages_need_the_right_user(client: httpx.AsyncClient, db: Database) -> None:
    alice = await make_account(db, client, email="alice@example.com")
    await make_account(db, client, email="bob@example.com")
    await make_account(db, client, email="member@example.com", role=Role.MEMBER)
    event, slots = await published_event(client, alice)

    anonymous = await client.get(f"/organizer/events/{event['id']}")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=%2Forganizer%2Fevents%2F")

    assert (await web_login(client, "member@example.com")).status_code == 303
    assert (await client.get("/organizer")).status_code == 403
    await client.post("/logout", data={"csrf_token": await page_csrf(client, "/")})

    assert (await web_login(client, "bob@example.com")).status_code == 303
    assert (await client.get("/organizer")).status_code == 200
    for path in ("", "/edit", "/bookings", "/audit"):
        response = await client.get(f"/organizer/events/{event['id']}{path}")
        assert response.status_code == 403, path
    token = await page_csrf(client, "/organizer")
    refused = await client.post(
        f"/organizer/slots/{slots[0]['id']}", data={"action": "lock", "csrf_token": token}
    )
    assert refused.status_code == 403
    state = (await client.get(f"/api/events/{event['id']}")).json()["slots"][0]
    assert state["is_locked"] is False


async def test_cookie_on_the_json_api_needs_the_csrf_header(
    client: httpx.AsyncClient, db: Database
) -> None:
    await make_account(db, client, email="org@example.com")
    assert (await web_login(client, "org@example.com")).status_code == 303
    assert (await client.get("/api/auth/me")).json()["email"] == "org@example.com"
    body = {
        "title": "Cookie event",
        "start_datetime": event_start().isoformat(),
        "end_datetime": (event_start() + timedelta(hours=2)).isoformat(),
        "airport_icao": "EGKK",
    }
    assert (await client.post("/api/events", json=body)).status_code == 401
    token = await page_csrf(client, "/organizer")
    allowed = await client.post("/api/events", json=body, headers={"X-CSRF-Token": token})
    assert allowed.status_code == 201


async def test_organizer_manages_an_event_through_forms(
    client: httpx.AsyncClient, db: Database
) -> None:
    await make_account(db, client, email="org@example.com")
    await web_login(client, "org@example.com")
    token = await page_csrf(client, "/organizer/events/new")
    start = event_start()
    created = await client.post(
        "/organizer/events/new",
        data={
            "csrf_token": token,
            "title": "Gatwick Afternoon",
            "airport_icao": "egkk",
            "start_datetime": start.strftime("%Y-%m-%dT%H:%M"),
            "end_datetime": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
            "description": "Hello",
            "status": "draft",
        },
    )
    assert created.status_code == 303, created.text
    page_path = created.headers["location"]
    event_id = int(page_path.rsplit("/", 1)[1])

    bulk = await client.post(
        f"/organizer/events/{event_id}/slots/bulk",
        data={
            "csrf_token": token,
            "kind": "atc",
            "lines": "EGKK_DEL\nEGKK_TWR\n",
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
            "minutes": "120",
        },
    )
    assert bulk.status_code == 303
    bad_bulk = await client.post(
        f"/organizer/events/{event_id}/slots/bulk",
        data={"csrf_token": token, "kind": "atc", "lines": "NOT A CALLSIGN", "start": "",
              "end": "", "minutes": "60"},
    )  # fmt: skip
    assert bad_bulk.status_code == 422 and 'id="err-start"' in bad_bulk.text
    publish = await client.post(
        f"/organizer/events/{event_id}/status", data={"csrf_token": token, "action": "publish"}
    )
    assert publish.status_code == 303
    detail = (await client.get(f"/api/events/{event_id}")).json()
    assert detail["status"] == "published" and detail["airport_name"].startswith("London Gatwick")
    assert [s["position_name"] for s in detail["slots"]] == ["EGKK_DEL"] * 2 + ["EGKK_TWR"] * 2

    first, second = detail["slots"][0]["id"], detail["slots"][1]["id"]
    for action, slot_id in (("lock", first), ("down", first)):
        response = await client.post(
            f"/organizer/slots/{slot_id}", data={"csrf_token": token, "action": action}
        )
        assert response.status_code == 303
    slots = (await client.get(f"/api/events/{event_id}")).json()["slots"]
    assert [s["id"] for s in slots[:2]] == [second, first] and slots[1]["is_locked"]

    claim = await client.post(
        f"/api/slots/{second}/book", json=booking_body("BAW9", email="pilot@example.com")
    )
    assert claim.status_code == 201
    bookings = await client.get(f"/organizer/events/{event_id}/bookings")
    assert "pilot@example.com" in bookings.text and "BAW9" in bookings.text
    release = await client.post(
        f"/organizer/bookings/{claim.json()['id']}/release",
        data={"csrf_token": token, "back": f"/organizer/events/{event_id}/bookings"},
    )
    assert release.status_code == 303
    delete = await client.post(
        f"/organizer/slots/{second}", data={"csrf_token": token, "action": "delete"}
    )
    assert delete.status_code == 303
    audit = (await client.get(f"/organizer/events/{event_id}/audit")).text
    for action in ("event.created", "slots.created", "slot.updated", "booking.released"):
        assert action in audit
    dashboard = (await client.get("/organizer")).text
    assert "Gatwick Afternoon" in dashboard


async def test_event_details_form_validates_and_saves(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event, _ = await published_event(client, organizer)
    await web_login(client, organizer.email)
    path = f"/organizer/events/{event['id']}/edit"
    token = await page_csrf(client, path)
    start = event_start()
    fields = {
        "csrf_token": token,
        "title": "Renamed <b>Rush</b>",
        "airport_icao": "EGLL",
        "timezone": "",
        "start_datetime": start.strftime("%Y-%m-%dT%H:%M"),
        "end_datetime": (start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "description": "",
    }
    refused = await client.post(path, data=fields)
    assert refused.status_code == 422
    assert re.search(r'id="err-end_datetime"[^>]*>[^<]*after', refused.text)
    fields["end_datetime"] = (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    saved = await client.post(path, data=fields)
    assert saved.status_code == 303
    assert (await client.get(f"/api/events/{event['id']}")).json()["title"] == "Renamed <b>Rush</b>"
    assert "Renamed &lt;b&gt;Rush&lt;/b&gt;" in (await client.get(path)).text


def test_bulk_form_expands_positions_by_time_blocks() -> None:
    start = event_start()
    items = expand_bulk(
        kind="atc",
        lines="egll_del\n\nEGLL_TWR\n",
        start=start.strftime("%Y-%m-%dT%H:%M"),
        end=(start + timedelta(minutes=150)).strftime("%Y-%m-%dT%H:%M"),
        minutes="60",
    )
    assert [(i.position_name, i.position_type) for i in items[:3]] == [("EGLL_DEL", "DEL")] * 3
    assert items[2].end_time == start + timedelta(minutes=150)  # the last block is cut short
    assert len(items) == 6
    pilots = expand_bulk(
        kind="pilot",
        lines="EGLL-KJFK",
        start=start.isoformat()[:16],
        end=(start + timedelta(minutes=10)).isoformat()[:16],
        minutes="2",
    )
    assert len(pilots) == 5 and {p.position_type for p in pilots} == {"PILOT"}
    with pytest.raises(FormErrors) as refused:
        expand_bulk(kind="atc", lines="EGLL_TWR", start="soon", end="", minutes="30")
    assert "start" in refused.value.errors


async def test_home_lists_published_events_and_filters_by_airport(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    await make_event(client, organizer, title="Heathrow Night")
    await make_event(client, organizer, title="Schiphol Morning", airport_icao="EHAM")
    await make_event(client, organizer, title="Secret Draft", status="draft")
    home = (await client.get("/")).text
    assert "Heathrow Night" in home and "Schiphol Morning" in home
    assert "Secret Draft" not in home
    assert "London Heathrow" in home
    filtered = (await client.get("/?airport=eham")).text
    assert "Schiphol Morning" in filtered and "Heathrow Night" not in filtered


@pytest.mark.parametrize(("icao", "status"), [("EGLL", 200), ("zzzz", 404), ("EG", 404)])
async def test_airport_lookup(client: httpx.AsyncClient, icao: str, status: int) -> None:
    response = await client.get(f"/api/airports/{icao}")
    assert response.status_code == status
    if status == 200:
        assert response.json()["timezone"] == "Europe/London"


async def test_drafts_are_only_shown_to_their_organizer(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    draft = await make_event(client, organizer, title="Not yet", status="draft")
    assert (await client.get(f"/events/{draft['id']}")).status_code == 404
    await web_login(client, organizer.email)
    page = await client.get(f"/events/{draft['id']}")
    assert page.status_code == 200 and "Draft" in page.text and "Manage this event" in page.text
    await client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    expired = await client.post(
        f"/organizer/events/{draft['id']}/status", data={"action": "publish"}
    )
    assert expired.status_code == 303  # signed out: back to the login, then the dashboard
    assert expired.headers["location"] == "/login?next=%2Forganizer"


async def test_unknown_pages_render_html_errors(client: httpx.AsyncClient) -> None:
    response = await client.get("/events/999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    manage = await client.get("/bookings/999999/manage?token=x")
    assert manage.status_code == 404
