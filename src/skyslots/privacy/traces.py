"""A person's traces in stored JSON (audit payloads, outbox payloads, roster messages, replayed
responses): their emails anywhere, their name where a booking of theirs shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DELETED_NAME = "Deleted user"
DELETED = "(deleted)"
NAME_KEYS = ("pilot_name", "name")
ID_KEYS = ("id", "booking_id")


@dataclass
class Traces:
    """What identifies the person: emails (lower-case), names, and their bookings' ids."""

    emails: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    booking_ids: set[int] = field(default_factory=set)
    entry_ids: set[int] = field(default_factory=set)
    slot_ids: set[int] = field(default_factory=set)
    event_ids: set[int] = field(default_factory=set)

    def add(
        self, *, email: str | None = None, name: str | None = None, event_id: int | None = None
    ) -> None:
        if email:
            self.emails.add(email.lower())
        if name and name != DELETED_NAME:
            self.names.add(name)
        if event_id is not None:
            self.event_ids.add(event_id)

    def has_email(self, text: str | None) -> bool:
        lowered = (text or "").lower()
        return any(email in lowered for email in self.emails)

    def _is_theirs(self, value: dict[str, Any]) -> bool:
        return any(value.get(key) in self.booking_ids for key in ID_KEYS if key in value) or (
            value.get("entry_id") in self.entry_ids
        )

    def found_in(self, value: Any) -> bool:
        """`value` (decoded JSON) holds an email of theirs, or their name on a booking of theirs."""
        if isinstance(value, str):
            return self.has_email(value)
        if isinstance(value, list):
            return any(self.found_in(item) for item in value)
        if isinstance(value, dict):
            if self._is_theirs(value) and any(value.get(k) in self.names for k in NAME_KEYS):
                return True
            return any(self.found_in(item) for item in value.values())
        return False

    def refers_to(self, value: Any) -> bool:
        """`value` (decoded JSON) is about a booking or entry of theirs (by id)."""
        if isinstance(value, list):
            return any(self.refers_to(item) for item in value)
        if not isinstance(value, dict):
            return False
        booking = value.get("booking")
        if (
            value.get("booking_id") in self.booking_ids
            or value.get("entry_id") in self.entry_ids
            or (isinstance(booking, dict) and booking.get("id") in self.booking_ids)
        ):
            return True
        return any(self.refers_to(item) for item in value.values())

    def scrubbed(self, value: Any) -> Any:
        """`value` with their emails' strings replaced and their bookings' names anonymised."""
        if isinstance(value, str):
            return DELETED if self.has_email(value) else value
        if isinstance(value, list):
            return [self.scrubbed(item) for item in value]
        if isinstance(value, dict):
            theirs = self._is_theirs(value)
            return {
                key: DELETED_NAME
                if theirs and key in NAME_KEYS and item in self.names
                else self.scrubbed(item)
                for key, item in value.items()
            }
        return value
