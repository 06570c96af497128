"""The one error of backups: a reason worth one line to the operator."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""
