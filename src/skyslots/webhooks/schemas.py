"""Webhook endpoints as organizers create and list them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skyslots.webhooks.addresses import url_shape_problem

EVENT_TYPES = (
    "booking.claimed",
    "booking.released",
    "booking.moved",
    "waitlist.promoted",
    "event.updated",
    "event.cancelled",
)
EventType = Literal[
    "booking.claimed",
    "booking.released",
    "booking.moved",
    "waitlist.promoted",
    "event.updated",
    "event.cancelled",
]
TEST_TYPE = "webhook.test"


class WebhookCreate(BaseModel):
    """A receiver for some of the event's changes; `include_email` adds bookers' emails."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://n8n.example.org/webhook/skyslots"])
    events: list[EventType] = Field(min_length=1, examples=[["booking.claimed"]])
    include_email: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        url = url.strip()
        problem = url_shape_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url

    @field_validator("events")
    @classmethod
    def _each_once(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    """An endpoint as listed: its secret masked (`whsec_…abcd`)."""

    id: int
    event_id: int
    url: str
    events: list[str]
    include_email: bool
    secret: str
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    """The new endpoint with its whole signing secret: shown this once, keep it."""


class WebhookTestQueued(BaseModel):
    """The outbox row (see GET /api/events/{id}/deliveries) carrying the test message."""

    delivery_id: int
