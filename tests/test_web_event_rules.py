"""The event form's booking rules (hold, waitlist, offer time, slots per person), both engines."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from skyslots.db import Database
from tests.helpers import event_start, make_account, make_event
from tests.test_web_views import page_csrf, web_login

RULES = ("hold_seconds", "waitlist_mode", "offer_seconds", "max_slots_per_person")


def value_of(html: str, field: str) -> str:
    if field == "waitlist_mode":
        match = re.search(r'<option value="(\w+)" selected>', html)
    else:
        match = re.search(rf'id="{field}" name="{field}"[^>]* value="([^"]*)"', html)
    assert match, f"no value for {field}"
    return match.group(1)


def error_for(html: str, field: str) -> str:
    match = re.search(rf'id="err-{field}"[^>]*>([^<]*)<', html)
    assert match, f"no error element for {field}"
    return match.group(1).strip()


def event_fields(token: str, **extra: str) -> dict[str, str]:
    start = event_start()
    return {
        "csrf_token": token,
        "title": "Rules Night",
        "airport_icao": "EGLL",
        "timezone": "",
        "start_datetime": start.strftime("%Y-%m-%dT%H:%M"),
        "end_datetime": (start + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "description": "",
        "status": "draft",
        **extra,
    }


async def test_new_event_form_offers_the_defaults_and_saves_the_rules(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    await web_login(client, organizer.email)
    form = (await client.get("/organizer/events/new")).text
    assert [value_of(form, f) for f in RULES] == ["300", "offer", "1800", "1"]
    for field in RULES:
        assert f'for="{field}"' in form and f'id="hint-{field}"' in form, field
    token = await page_csrf(client, "/organizer/events/new")

    bad = await client.post(
        "/organizer/events/new",
        data=event_fields(token, hold_seconds="3601", waitlist_mode="sometimes",
                          offer_seconds="59", max_slots_per_person="0"),
    )  # fmt: skip
    assert bad.status_code == 422
    assert "3600" in error_for(bad.text, "hold_seconds")
    assert "claim" in error_for(bad.text, "waitlist_mode")
    assert "60" in error_for(bad.text, "offer_seconds")
    assert "1" in error_for(bad.text, "max_slots_per_person")
    assert value_of(bad.text, "hold_seconds") == "3601"  # what was typed is kept
    blank = await client.post("/organizer/events/new", data=event_fields(token, hold_seconds=""))
    assert blank.status_code == 422 and "integer" in error_for(blank.text, "hold_seconds")

    created = await client.post(
        "/organizer/events/new",
        data=event_fields(token, hold_seconds="0", waitlist_mode="claim",
                          offer_seconds="600", max_slots_per_person="3"),
    )  # fmt: skip
    assert created.status_code == 303, created.text
    event_id = int(created.headers["location"].rsplit("/", 1)[1])
    saved = (await client.get(f"/api/events/{event_id}", headers=organizer.headers)).json()
    assert [saved[f] for f in RULES] == [0, "claim", 600, 3]

    left_out = await client.post("/organizer/events/new", data=event_fields(token))
    assert left_out.status_code == 303  # a form without the rules gets the defaults
    event_id = int(left_out.headers["location"].rsplit("/", 1)[1])
    saved = (await client.get(f"/api/events/{event_id}", headers=organizer.headers)).json()
    assert [saved[f] for f in RULES] == [300, "offer", 1800, 1]


async def test_edit_form_shows_and_changes_the_rules(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer, hold_seconds=120, waitlist_mode="off")
    await web_login(client, organizer.email)
    path = f"/organizer/events/{event['id']}/edit"
    form = (await client.get(path)).text
    assert [value_of(form, f) for f in RULES] == ["120", "off", "1800", "1"]
    token = await page_csrf(client, path)
    fields = event_fields(token, title=event["title"])
    fields["end_datetime"] = event["end_datetime"][:16]
    fields["start_datetime"] = event["start_datetime"][:16]

    refused = await client.post(path, data={**fields, "max_slots_per_person": "21"})
    assert refused.status_code == 422 and "20" in error_for(refused.text, "max_slots_per_person")
    assert value_of(refused.text, "max_slots_per_person") == "21"
    unchanged = (await client.get(f"/api/events/{event['id']}")).json()
    assert [unchanged[f] for f in RULES] == [120, "off", 1800, 1]

    saved = await client.post(
        path,
        data={**fields, "hold_seconds": "600", "waitlist_mode": "offer", "offer_seconds": "3600",
              "max_slots_per_person": "2"},
    )  # fmt: skip
    assert saved.status_code == 303
    changed = (await client.get(f"/api/events/{event['id']}")).json()
    assert [changed[f] for f in RULES] == [600, "offer", 3600, 2]
    assert [value_of((await client.get(path)).text, f) for f in RULES] == [
        "600",
        "offer",
        "3600",
        "2",
    ]
    audit = (await client.get(f"/organizer/events/{event['id']}/audit")).text
    assert "hold seconds" in audit and "max slots per person" in audit


async def test_edit_form_sets_reminders_and_the_discord_webhook(
    client: httpx.AsyncClient, db: Database
) -> None:
    organizer = await make_account(db, client, email="org@example.com")
    event = await make_event(client, organizer)
    await web_login(client, organizer.email)
    path = f"/organizer/events/{event['id']}/edit"
    form = (await client.get(path)).text
    assert value_of(form, "reminder_offsets_minutes") == "1440, 60"
    assert value_of(form, "discord_webhook_url") == ""
    token = await page_csrf(client, path)
    fields = event_fields(token, title=event["title"])
    fields["start_datetime"] = event["start_datetime"][:16]
    fields["end_datetime"] = event["end_datetime"][:16]
    hook = "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz_-12"

    refused = await client.post(
        path, data={**fields, "reminder_offsets_minutes": "60, soon", "discord_webhook_url": hook}
    )
    assert refused.status_code == 422
    assert error_for(refused.text, "reminder_offsets_minutes")
    bad_hook = await client.post(path, data={**fields, "discord_webhook_url": "https://x.io/h"})
    assert bad_hook.status_code == 422 and error_for(bad_hook.text, "discord_webhook_url")

    saved = await client.post(
        path, data={**fields, "reminder_offsets_minutes": "30 120,120", "discord_webhook_url": hook}
    )
    assert saved.status_code == 303
    form = (await client.get(path)).text
    assert value_of(form, "reminder_offsets_minutes") == "120, 30"
    assert value_of(form, "discord_webhook_url") == hook
    off = await client.post(
        path, data={**fields, "reminder_offsets_minutes": "", "discord_webhook_url": ""}
    )
    assert off.status_code == 303
    assert value_of((await client.get(path)).text, "reminder_offsets_minutes") == ""
