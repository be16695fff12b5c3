"""The photo app (template.yaml) on the emulator with bucket events from MinIO's webhook, as compose runs
it: objects go straight to the S3 server, real MinIO webhook bodies go to /_lightbox/s3-events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from photo_client import (
    PIPELINE_EVENTS,
    ROOT,
    create_upload,
    events_by_photo,
    jpeg,
    minio_body,
    post_webhook,
    stage_counts,
    wait_completed,
)

from lightbox.config import Settings
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

TOKEN = "minio-webhook-token"


@pytest.fixture(scope="module")
def photo_stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Any, str]]:
    import boto3

    url = redis_server.url.rsplit("/", 1)[0] + "/2"  # the stack's own database; tests flushing 0 leave it alone
    redis.Redis.from_url(url).flushdb()
    bucket = f"photos-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)  # minio-init's job under compose
    data = tmp_path_factory.mktemp("photo-stack")
    settings = Settings.load(template=ROOT / "template.yaml", port=0, workers=1, redis_url=url,
                             s3_endpoint=s3_server.url, bucket_events="webhook", webhook_token=TOKEN,
                             retry_base=0.2, data_dir=data,
                             parameter_overrides={"PhotosBucketName": bucket, "PhotosDbPath": str(data / "photos.db")})
    stack = Stack(settings).start()
    yield stack, s3, bucket
    stack.stop()
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)
    redis.Redis.from_url(url).flushdb()


def _upload(stack: Stack, s3: Any, bucket: str, seed: int) -> tuple[str, tuple[str, int, str]]:
    data = jpeg(seed)
    photo_id, key = create_upload(stack.url, data)
    etag = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="image/jpeg")["ETag"].strip('"')
    return photo_id, (key, len(data), etag)


def test_wrong_or_missing_token_is_refused_and_the_right_one_completes_the_photo(
        photo_stack: tuple[Stack, Any, str]) -> None:
    stack, s3, bucket = photo_stack
    photo_id, obj = _upload(stack, s3, bucket, 1)
    body = minio_body(bucket, [obj])
    assert body["Records"][0]["s3"]["object"]["key"].startswith("originals%2Falice%2F")  # as MinIO sends it

    assert post_webhook(stack.url, body, "not-the-token").status_code == 401
    assert post_webhook(stack.url, body, None).status_code == 401
    time.sleep(0.5)
    assert wait_completed(stack.url, [photo_id], timeout=0.1) == {photo_id: "pending_upload"}

    r = post_webhook(stack.url, body, TOKEN)
    assert r.status_code == 200 and r.json() == {"delivered": 1}
    assert wait_completed(stack.url, [photo_id]) == {photo_id: "completed"}
    assert events_by_photo(stack.connection)[photo_id] == PIPELINE_EVENTS


def test_a_multi_record_body_with_a_repeated_record_completes_each_photo_once(
        photo_stack: tuple[Stack, Any, str]) -> None:
    stack, s3, bucket = photo_stack
    uploads = [_upload(stack, s3, bucket, seed) for seed in (2, 3)]
    objects = [obj for _, obj in uploads]
    # MinIO delivers at least once: the first record comes again in the same body.
    r = post_webhook(stack.url, minio_body(bucket, [*objects, objects[0]]), TOKEN)
    assert r.status_code == 200 and r.json() == {"delivered": 3}
    ids = [pid for pid, _ in uploads]
    assert wait_completed(stack.url, ids) == dict.fromkeys(ids, "completed")
    time.sleep(0.5)  # room for a duplicate run to show itself
    events = events_by_photo(stack.connection)
    counts = stage_counts(stack.connection)
    for pid in ids:
        assert events[pid] == PIPELINE_EVENTS
        assert {stage: n for (p, stage), n in counts.items() if p == pid} == dict.fromkeys(
            ["validate", "metadata", "thumbnails", "optimize"], 1)


def test_records_outside_the_trigger_or_bucket_invoke_nothing(photo_stack: tuple[Stack, Any, str]) -> None:
    stack, _, bucket = photo_stack
    body = minio_body(bucket, [("derivatives/alice/x/thumb_150.jpg", 10, "e")])  # not under originals/
    assert post_webhook(stack.url, body, TOKEN).json() == {"delivered": 0}
    other = minio_body("some-other-bucket", [("originals/alice/x", 10, "e")])
    assert post_webhook(stack.url, other, TOKEN).json() == {"delivered": 0}
    assert post_webhook(stack.url, {"not": "minio"}, TOKEN).status_code == 400
