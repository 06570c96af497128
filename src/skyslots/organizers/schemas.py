from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field


class OrganizerAdd(BaseModel):
    email: EmailStr = Field(description="The email of an existing SkySlots account.")


class OrganizerOut(BaseModel):
    """One of an event's organizers: its owner, or a co-organizer."""

    user_id: int
    name: str
    email: str
    role: str = Field(description='"owner" or "co_organizer".')
    added_at: datetime | None = Field(default=None, description="When a co-organizer was added.")
