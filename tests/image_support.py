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


def _git_revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


# Tagged by revision: two checkouts testing side by side (podman's storage is the machine's)
# never take each other's image; the layers are shared all the same.
IMAGE = f"localhost/skyslots-test:{_git_revision()[:12]}"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# podman here: runc, the host's network (no CNI set-up; containers reach the test's services on
# 127.0.0.1). As root, ulimits inside the machine's own limits: podman's defaults for root exceed
# them and runc then fails ("error setting rlimits"). Rootless podman keeps the user's limits.
RUNTIME_OPTIONS = ("--runtime", "runc")
ROOT_LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
RUN_OPTIONS = ("--network=host", *(ROOT_LIMITS if os.geteuid() == 0 else ()))


def cache_dir() -> Path:
    configured = os.environ.get("SKYSLOTS_TEST_CACHE")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "skyslots"


def require_podman() -> str:
    """podman's path; a loud skip without podman, runc, or a way to debootstrap (root, or
    passwordless sudo as on CI runners), a failure under CI."""
    podman = shutil.which("podman")
    if podman is None:
        service_missing("podman", "not installed: apt-get install podman runc debootstrap")
        raise AssertionError("unreachable")
    if shutil.which("runc") is None:
        service_missing("runc", "not installed: apt-get install runc")
    if as_root() is None:
        service_missing("root or passwordless sudo", "debootstrap needs root to make the base")
    return podman


def as_root() -> list[str] | None:
    """The prefix that runs a command as root: nothing as root, `sudo -n` where that works."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], check=False).returncode == 0:
        return ["sudo", "-n"]
    return None


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
    root_prefix = as_root()
    assert root_prefix is not None  # require_podman checked
    work = Path(tempfile.mkdtemp(prefix="skyslots-debootstrap-", dir=tarball.parent))
    root = work / "root"
    partial = tarball.with_suffix(".partial")
    script = (
        'set -eu; root="$1"; debootstrap --variant=minbase --include="$2" "$3" "$root" "$4";'
        ' chroot "$root" apt-get clean;'
        ' for d in var/lib/apt/lists var/log tmp; do rm -rf "${root:?}/$d"; mkdir "$root/$d"; done;'
        ' chmod 1777 "$root/tmp";'
        ' tar --numeric-owner --xattrs -C "$root" -cf "$5" .; chmod 0644 "$5"'
    )
    try:
        result = subprocess.run(
            [*root_prefix, "sh", "-c", script, "debootstrap", str(root), INCLUDE, SUITE, MIRROR,
             str(partial)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr}")
        partial.rename(tarball)  # only a whole tarball is ever found in the cache
    finally:
        subprocess.run([*root_prefix, "rm", "-rf", str(work), str(partial)], check=False)


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
        # podman's layer cache reuses a LABEL layer whose build argument changed (seen here:
        # the revision of an earlier build); a --label is applied to the image itself.
        "--label",
        f"org.opencontainers.image.revision={_git_revision()}",
        "--tag",
        tag,
        *extra,
        str(ROOT),
        timeout=1800,
    )
    return time.monotonic() - started


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
