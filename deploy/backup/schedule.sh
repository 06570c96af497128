#!/bin/sh
# The backup service: `skyslots backup` once a day at BACKUP_AT (HH:MM, UTC), forever.
# Retention (SKYSLOTS_BACKUP_KEEP_DAILY / _WEEKLY) is applied by each run.
set -eu
at="${BACKUP_AT:-03:15}"
case "$at" in
  [0-2][0-9]:[0-5][0-9]) ;;
  *) echo "backup: BACKUP_AT must be HH:MM (UTC), not '$at'" >&2; exit 2 ;;
esac
hours=${at%%:*}
minutes=${at##*:}
target=$(( ${hours#0} * 3600 + ${minutes#0} * 60 ))
while true; do
  now=$(( $(date -u +%s) % 86400 ))
  wait=$(( (target - now + 86400) % 86400 ))
  [ "$wait" -eq 0 ] && wait=86400
  echo "backup: next run in ${wait}s (at $at UTC)"
  sleep "$wait"
  skyslots backup
done
