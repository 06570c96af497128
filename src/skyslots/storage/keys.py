"""Object keys (docs/storage.md): `<owner>/<id>/<artifact>/<file>`; everything before the last
`/` names the artifact, whose newest object the cleanup keeps.

A key carries what the object depends on (e.g. `v<roster version>`), so a change gives a new key
and a stale object is never served.
"""

from __future__ import annotations

import re

# Temporary objects of an upload in progress; never listed, never served.
INCOMING = ".incoming/"
# Database backups (skyslots.backups): their own retention deletes them, the cleanup never does.
BACKUPS = "backups/"
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_LENGTH = 512


def checked_key(key: str) -> str:
    """`key` if it is a well-formed key (no `..`, no leading `/` or `.`), else ValueError."""
    if len(key) > MAX_KEY_LENGTH or not _KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


def artifact_of(key: str) -> str:
    """The artifact an object belongs to: its key up to the last `/` (the object's "folder");
    a key without one is an artifact of its own."""
    return key.rsplit("/", 1)[0] + "/" if "/" in key else key


def event_calendar_prefix(event_id: int) -> str:
    return f"events/{event_id}/calendar/"


def event_calendar_key(event_id: int, version: int) -> str:
    """The event's calendar at this roster version."""
    return f"{event_calendar_prefix(event_id)}v{version}.ics"


def deletable_key(key: str) -> str:
    """A key, or a temporary upload's (which the cleanup deletes)."""
    if key.startswith(INCOMING):
        checked_key(key.removeprefix(INCOMING))
        return key
    return checked_key(key)
