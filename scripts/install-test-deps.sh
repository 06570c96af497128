#!/usr/bin/env bash
# System packages the test suite drives for real: Debian's Chromium for the browser tests.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "install-test-deps: /usr/bin/chromium is missing; install Debian's 'chromium' package" \
       "(sudo apt-get install chromium) or the browser tests will be skipped" >&2
fi
