#!/bin/sh
# One-shot setup of MinIO for compose (runs in the minio/mc image):
#   the photos bucket, a webhook target pointing at the api's receiver with a bearer token and a
#   queue_dir (MinIO keeps events on disk while the api is down and sends them when it is back),
#   and the bucket notification for objects created under originals/.
# Safe to run again: every step is idempotent.
set -eu

: "${MINIO_URL:=http://minio:9000}"
: "${PHOTOS_BUCKET:=lightbox-photos}"
: "${LIGHTBOX_WEBHOOK_ENDPOINT:=http://api:3000/_lightbox/s3-events}"
: "${MINIO_EVENTS_QUEUE_DIR:=/events}"
: "${LIGHTBOX_WEBHOOK_TOKEN:?set LIGHTBOX_WEBHOOK_TOKEN (the api checks the same token)}"

mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc ready local

mc mb --ignore-existing "local/$PHOTOS_BUCKET"

# queue_dir is a path on the MinIO server (the minio-events volume), not in this container.
mc admin config set local notify_webhook:lightbox \
  endpoint="$LIGHTBOX_WEBHOOK_ENDPOINT" \
  auth_token="$LIGHTBOX_WEBHOOK_TOKEN" \
  queue_dir="$MINIO_EVENTS_QUEUE_DIR" \
  queue_limit="100000"
# A new notification target is loaded at start-up.
mc admin service restart local
mc ready local

# The restart may still be under way when `ready` first answers: retry for up to a minute.
tries=0
until mc event add "local/$PHOTOS_BUCKET" arn:minio:sqs::lightbox:webhook \
        --event put --prefix originals/ --ignore-existing; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "minio-init: could not add the bucket notification" >&2; exit 1; }
  sleep 2
done
mc event ls "local/$PHOTOS_BUCKET"
