"""prometheus-client's multiprocess folder: made fresh per `skyslots serve` / `skyslots worker`
start, before any process of it imports prometheus-client, so `--workers N` (and Celery's pool)
are one view; a process that ends is marked dead (its live gauges leave the sum)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare(data_dir: Path, role: str) -> Path:
    """A fresh, empty folder `<data dir>/metrics/<role>-<pid>` in PROMETHEUS_MULTIPROC_DIR;
    folders left by stopped processes are removed. An operator's own PROMETHEUS_MULTIPROC_DIR
    is kept (and emptied of metric files)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink(missing_ok=True)
        return folder
    parent = (data_dir / "metrics").resolve()
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        _, _, pid = old.name.rpartition("-")
        if old.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = parent / f"{role}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def remove(folder: Path) -> None:
    """At the end of the command that made it."""
    if folder.parent.name == "metrics":  # ours, not an operator's
        shutil.rmtree(folder, ignore_errors=True)


def mark_dead(pid: int | None = None) -> None:
    """This (ending) process's live gauges leave the sum."""
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(pid or os.getpid())


def forget_dead_processes() -> None:
    """Mark dead the processes whose live gauges are still in the folder (a worker killed
    without its shutdown, which its supervisor replaced): at scrape time, so they never count."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            found = LIVE_GAUGE_FILE.fullmatch(entry.name)
            if found and not _alive(int(found.group(1))):
                mark_dead(int(found.group(1)))
