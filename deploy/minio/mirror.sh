#!/bin/sh
# Profile `mirror`: copy both buckets to another S3 (MIRROR_URL, e.g. https://s3.eu-central-1.wasabisys.com)
# as they change. Objects deleted here are deleted there too (--remove): the backups bucket's
# retention is `skyslots backup`'s, and the mirror follows it.
set -eu
if [ -z "${MIRROR_URL:-}" ]; then
  echo "backup-mirror: set MIRROR_URL, MIRROR_ACCESS_KEY and MIRROR_SECRET_KEY in .env" >&2
  exit 1
fi
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc alias set mirror "$MIRROR_URL" "$MIRROR_ACCESS_KEY" "$MIRROR_SECRET_KEY" >/dev/null
for bucket in "$MINIO_BUCKET" "$BACKUP_BUCKET"; do
  mc mb --ignore-existing "mirror/$bucket"
  mc mirror --overwrite --remove "local/$bucket" "mirror/$bucket"
done
# Then follow changes until stopped (restarts start with a full pass again).
for bucket in "$MINIO_BUCKET" "$BACKUP_BUCKET"; do
  mc mirror --watch --overwrite --remove "local/$bucket" "mirror/$bucket" &
done
wait
