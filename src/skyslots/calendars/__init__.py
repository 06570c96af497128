"""Calendars (RFC 5545): an event's with its staffed ATC blocks, a booker's own slot."""
