"""SQLModel tables, one module per aggregate; importing this package registers them all."""

from skyslots.models.audit import AuditLog
from skyslots.models.base import metadata
from skyslots.models.booking import Booking, BookingStatus
from skyslots.models.event import Event, EventStatus
from skyslots.models.roster import RosterChange
from skyslots.models.slot import PositionType, Slot
from skyslots.models.user import Role, User

__all__ = [
    "AuditLog",
    "Booking",
    "BookingStatus",
    "Event",
    "EventStatus",
    "PositionType",
    "Role",
    "RosterChange",
    "Slot",
    "User",
    "metadata",
]
