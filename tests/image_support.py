"""The container image, built and run with Debian's podman (runc) for tests/test_image.py.

No image registry is reachable from the test machines, so the Dockerfile's BASE is a Debian
bookworm made here with `debootstrap --variant=minbase --include=python3,python3-venv` from
Debian's package mirror and `podman import`ed. The base is cached, keyed by a hash of what it is
made from: its root file system as a tarball under ~/.cache/skyslots/image-base/ (or
$SKYSLOTS_TEST_CACHE/image-base/) and the imported image `localhost/skyslots-test-base:<key>`;
neither is rebuilt while the key holds.

    python -m tests.image_support    # build (or find) the base, build the image, print timings
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parent.parent
SUITE = "bookworm"
MIRROR = os.environ.get("SKYSLOTS_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
INCLUDE = "python3,python3-venv"
# Bump to rebuild every cached base (a change in how it is made that the key cannot see).
RECIPE = 1
BASE_REPOSITORY = "localhost/skyslots-test-base"
IMAGE = "localhost/skyslots-test:latest"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# podman as root here: the host's network (no CNI set-up needed), runc, and ulimits that fit
# inside the machine's own limits.
RUNTIME_OPTIONS = ("--runtime", "runc")
RUN_OPTIONS = (
    "--network=host",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
)


def cache_dir() -> Path:
    configured = os.environ.get("SKYSLOTS_TEST_CACHE")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "skyslots"


def require_podman() -> str:
    """podman's path; a loud skip without podman (or root), a failure under CI."""
    podman = shutil.which("podman")
    if podman is None:
        service_missing("podman", "not installed: apt-get install podman runc debootstrap")
        raise AssertionError("unreachable")
    if shutil.which("runc") is None:
        service_missing("runc", "not installed: apt-get install runc")
    if os.geteuid() != 0:
        service_missing("podman as root", "the image tests build a debootstrap base as root")
    return podman


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`podman --runtime runc <args>`, output captured as text; a failure shows podman's output."""
    result = subprocess.run(
        ["podman", *RUNTIME_OPTIONS, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def _debootstrap_version() -> str:
    result = subprocess.run(
        ["dpkg-query", "--showformat=${Version}", "--show", "debootstrap"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def base_key() -> str:
    """A hash of what the base is made from: suite, mirror, packages, architecture, tool, recipe."""
    made_from = {
        "suite": SUITE,
        "variant": "minbase",
        "include": INCLUDE,
        "mirror": MIRROR,
        "arch": os.uname().machine,
        "debootstrap": _debootstrap_version(),
        "recipe": RECIPE,
    }
    return hashlib.sha256(json.dumps(made_from, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Base:
    tag: str
    seconds: float  # what making it took now (0 when the image was there)
    made: str  # "cached image", "imported from the cached tarball" or "debootstrapped"


def ensure_base() -> Base:
    """The imported debootstrap base, made or imported only when missing."""
    if shutil.which("debootstrap") is None:
        service_missing("debootstrap", "not installed: apt-get install debootstrap")
    key = base_key()
    tag = f"{BASE_REPOSITORY}:{key}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return Base(tag, 0.0, "cached image")
    started = time.monotonic()
    folder = cache_dir() / "image-base"
    folder.mkdir(parents=True, exist_ok=True)
    tarball = folder / f"{SUITE}-{key}.tar"
    made = "imported from the cached tarball"
    if not tarball.exists():
        _debootstrap(tarball)
        made = "debootstrapped"
    podman("import", "--change", "CMD=/bin/bash", str(tarball), tag, timeout=300)
    return Base(tag, time.monotonic() - started, made)


def _debootstrap(tarball: Path) -> None:
    """A minbase bookworm with python3 and its venv module, apt's caches emptied, as a tarball."""
    work = Path(tempfile.mkdtemp(prefix="skyslots-debootstrap-", dir=tarball.parent))
    root = work / "root"
    try:
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, str(root), MIRROR],
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr}")
        subprocess.run(["chroot", str(root), "apt-get", "clean"], check=True, timeout=60)
        for folder in ("var/lib/apt/lists", "var/log", "tmp"):
            shutil.rmtree(root / folder, ignore_errors=True)
            (root / folder).mkdir()
            (root / folder).chmod(0o1777 if folder == "tmp" else 0o755)  # mkdir's mode meets umask
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(partial), "."],
            check=True,
            timeout=300,
        )
        partial.rename(tarball)  # only a whole tarball is ever found in the cache
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_image(base: str, *, tag: str = IMAGE, extra: Sequence[str] = ()) -> float:
    """`podman build` of the repository's Dockerfile on `base`; returns the seconds it took."""
    started = time.monotonic()
    podman(
        "build",
        "--format=docker",  # OCI image configs have no HEALTHCHECK
        *RUN_OPTIONS,
        "--volume",
        f"{CA_BUNDLE}:{CA_BUNDLE}:ro",  # pip's HTTPS goes through this machine's CA
        "--build-arg",
        f"BASE={base}",
        "--build-arg",
        f"REVISION={_git_revision()}",
        "--tag",
        tag,
        *extra,
        str(ROOT),
        timeout=1800,
    )
    return time.monotonic() - started


def _git_revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def image_size(tag: str = IMAGE) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def main() -> None:
    require_podman()
    base = ensure_base()
    print(f"base {base.tag}: {base.made} in {base.seconds:.1f}s")
    seconds = build_image(base.tag)
    print(f"image {IMAGE}: built in {seconds:.1f}s, {image_size() / 1e6:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
