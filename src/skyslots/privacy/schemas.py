"""What the data exports show: everything stored about a person (never a hash, token or secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXPORT_FILENAME = "skyslots-my-data.json"


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SlotRef(_Row):
    id: int
    position_name: str
    position_type: str
    start_time: datetime | None
    end_time: datetime | None
    slot_time: datetime | None
    callsign: str | None


class EventRef(_Row):
    id: int
    title: str
    airport_icao: str
    start_datetime: datetime
    end_datetime: datetime


class StoredBooking(_Row):
    """A booking row as stored (the manage token is kept only as a hash, which is left out)."""

    id: int
    event_id: int
    slot_id: int
    user_id: int | None
    status: str
    pilot_name: str | None
    pilot_callsign: str | None
    email: str | None
    notes: str
    claimed_at: datetime
    released_at: datetime | None
    expires_at: datetime | None


class BookingExport(StoredBooking):
    slot: SlotRef
    event: EventRef


class BookingData(BaseModel):
    """GET /api/bookings/{id}/data: one booking, its slot and its event."""

    exported_at: datetime
    booking: StoredBooking
    slot: SlotRef
    event: EventRef


class WaitlistEntryExport(_Row):
    id: int
    event_id: int
    slot_id: int | None
    position_type: str | None
    pilot_name: str
    pilot_callsign: str
    email: str | None
    status: str
    booking_id: int | None
    created_at: datetime
    updated_at: datetime | None


class AccountExport(_Row):
    id: int
    name: str
    email: str
    role: str
    vatsim_id: int | None
    rating_id: int | None
    rating_short: str | None
    created_at: datetime
    has_password: bool
    calendar_feed: bool = Field(
        default=False, description="a personal calendar feed is on (its address is not stored)"
    )


class AuditExport(_Row):
    id: int
    event_id: int | None
    actor: str
    action_type: str
    payload: dict[str, Any]
    created_at: datetime


class OwnedEvent(_Row):
    id: int
    title: str


class WebhookExport(_Row):
    """An endpoint of one of the person's events: where it posts (its secret is never shown)."""

    id: int
    event_id: int
    url: str


class ApiTokenExport(_Row):
    """A personal API token: its name, scope and use (the token itself is never stored)."""

    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class MyData(BaseModel):
    """GET /api/me/data: everything SkySlots stores about the signed-in person."""

    exported_at: datetime
    user: AccountExport
    bookings: list[BookingExport]
    waitlist_entries: list[WaitlistEntryExport]
    audit: list[AuditExport]
    events: list[OwnedEvent]
    webhook_endpoints: list[WebhookExport]
    api_tokens: list[ApiTokenExport]
