"""Exports: an event's bookings as CSV, its roster as a printable PDF and as an image, made by a
background job and stored in object storage (docs/exports.md)."""
