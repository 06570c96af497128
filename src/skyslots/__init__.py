"""SkySlots: slot booking for VATSIM events."""

__version__ = "0.1.0"
