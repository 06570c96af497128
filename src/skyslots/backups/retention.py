"""Which backups stay: everything newer than a day, and the newest backup of each of the last
`keep_daily` days (UTC dates) and of each of the last `keep_weekly` ISO weeks. Each engine's
backups are counted on their own; names that are not backup names are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from skyslots.backups.naming import BackupName, parse_name

RECENT = timedelta(days=1)


def _week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def backups_to_keep(
    names: Iterable[str], *, now: datetime, keep_daily: int, keep_weekly: int
) -> set[str]:
    """The backup names among `names` that the policy keeps at `now`."""
    parsed = [b for b in map(parse_name, names) if b is not None]
    today = now.date()
    days = {today - timedelta(days=n) for n in range(keep_daily)}
    weeks = {_week(today - timedelta(weeks=n)) for n in range(keep_weekly)}
    keep: set[str] = set()
    newest_of: dict[tuple[object, ...], BackupName] = {}
    for backup in parsed:
        if backup.taken_at > now - RECENT:
            keep.add(backup.name)
        day = backup.taken_at.date()
        buckets = []
        if day in days:
            buckets.append((backup.kind, "day", day))
        if _week(day) in weeks:
            buckets.append((backup.kind, "week", _week(day)))
        for bucket in buckets:
            best = newest_of.get(bucket)
            if best is None or backup.taken_at > best.taken_at:
                newest_of[bucket] = backup
    keep.update(b.name for b in newest_of.values())
    return keep


def backups_to_delete(
    names: Iterable[str], *, now: datetime, keep_daily: int, keep_weekly: int
) -> list[str]:
    """The backup names among `names` that the policy deletes at `now` (oldest first)."""
    names = list(names)
    keep = backups_to_keep(names, now=now, keep_daily=keep_daily, keep_weekly=keep_weekly)
    doomed = [b for b in map(parse_name, names) if b is not None and b.name not in keep]
    return [b.name for b in sorted(doomed, key=lambda b: b.taken_at)]
