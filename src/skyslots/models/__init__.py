"""SQLModel tables, one module per aggregate; importing this package registers them all."""

from skyslots.models.api_token import ApiToken, TokenScope
from skyslots.models.audit import AuditLog
from skyslots.models.base import metadata
from skyslots.models.booking import Booking, BookingStatus
from skyslots.models.event import Event, EventStatus, WaitlistMode
from skyslots.models.export import Export, ExportFormat, ExportStatus
from skyslots.models.feature import FeatureFlag
from skyslots.models.idempotency import IdempotencyKey
from skyslots.models.organizer import EventOrganizer
from skyslots.models.outbox import OutboxMessage
from skyslots.models.roster import RosterChange
from skyslots.models.slot import PositionType, Slot
from skyslots.models.user import Role, User
from skyslots.models.waitlist import WaitlistEntry, WaitlistStatus
from skyslots.models.webhook import WebhookEndpoint

__all__ = [
    "ApiToken",
    "AuditLog",
    "Booking",
    "BookingStatus",
    "Event",
    "EventOrganizer",
    "EventStatus",
    "Export",
    "ExportFormat",
    "ExportStatus",
    "FeatureFlag",
    "IdempotencyKey",
    "OutboxMessage",
    "PositionType",
    "Role",
    "RosterChange",
    "Slot",
    "TokenScope",
    "User",
    "WaitlistEntry",
    "WaitlistMode",
    "WaitlistStatus",
    "WebhookEndpoint",
    "metadata",
]
