"""Backups that restore (docs/operations.md, "Backup and restore"): `skyslots backup` dumps the
database (PostgreSQL: `pg_dump --format=custom`; SQLite: the online backup API) to a folder or
the object storage, named by time, and prunes old ones; `skyslots restore` loads one into an
empty database.

Modules: `naming` (names and file kinds), `retention` (which backups stay), `postgres` and
`sqlite` (dump and restore per engine), `targets` (folder or storage), `service` (the two
commands' work).
"""

from skyslots.backups.errors import BackupError

__all__ = ["BackupError"]
