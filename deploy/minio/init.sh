#!/bin/sh
# One-shot: create the artifacts bucket and the backups bucket (idempotent), then exit.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
for bucket in "$MINIO_BUCKET" "$BACKUP_BUCKET"; do
  mc mb --ignore-existing "local/$bucket"
done
# Backups are kept by `skyslots backup`'s retention; versioning guards against a bad overwrite.
mc version enable "local/$BACKUP_BUCKET"
echo "minio-init: buckets $MINIO_BUCKET and $BACKUP_BUCKET ready"
