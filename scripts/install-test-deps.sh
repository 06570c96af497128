#!/usr/bin/env bash
# System packages the test suite drives for real: Debian's Chromium for the browser tests, and
# podman, runc and debootstrap for the container image tests (tests/test_image.py). Only what is
# missing is installed (one apt-get update).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} = 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "install-test-deps: missing ${missing[*]}; install Debian's packages" \
       "(sudo apt-get install ${missing[*]}) or the browser and image tests will be skipped" >&2
fi
