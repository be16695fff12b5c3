"""The photo app as docker-compose runs it, minus Docker: the api under gunicorn with
infra/gunicorn.conf.py and two separate `lightbox worker` processes, sharing one Redis, one S3
server and one SQLite file. MinIO's part (webhook bodies) is played by the test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests
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
from rq import Worker

from lightbox.services.processes import ManagedProcess, free_port

TOKEN = "compose-token"
OPERATOR = "operator-token"  # LIGHTBOX_OPERATOR_TOKEN
PHOTOS = 30


@dataclass
class Compose:
    url: str
    bucket: str
    s3: Any
    redis: redis.Redis
    db: Path
    workers: list[subprocess.Popen[bytes]]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def compose(redis_server: ManagedProcess, s3_server: ManagedProcess, tmp_path: Path) -> Iterator[Compose]:
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/3"
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    bucket = f"photos-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    port = free_port()
    db = tmp_path / "data" / "photos.db"
    db.parent.mkdir()
    # The environment docker-compose.yml gives every app service.
    env = {**os.environ,
           "LIGHTBOX_TEMPLATE": str(ROOT / "template.yaml"), "REDIS_URL": redis_url, "S3_ENDPOINT_URL": s3_server.url,
           "LIGHTBOX_SQS_ENDPOINT": f"http://127.0.0.1:{port}/_lightbox/sqs", "LIGHTBOX_WEBHOOK_TOKEN": TOKEN,
           "LIGHTBOX_PARAMETER_OVERRIDES": f"PhotosBucketName={bucket} PhotosDbPath={db} RedisUrl={redis_url}",
           "LIGHTBOX_HEALTH_FILES": str(db), "LIGHTBOX_RETRY_BASE_SECONDS": "0.2", "LIGHTBOX_HOT_RELOAD": "0",
           "LIGHTBOX_LOG_FORMAT": "json", "LIGHTBOX_VERIFY_SIGNATURES": "1", "LIGHTBOX_OPERATOR_TOKEN": OPERATOR}
    api_env = {**env, "LIGHTBOX_HOST": "127.0.0.1", "LIGHTBOX_PORT": str(port), "GUNICORN_WORKERS": "2",
               "GUNICORN_THREADS": "16", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus")}
    with (tmp_path / "api.log").open("wb") as log:
        api = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "infra/gunicorn.conf.py"], cwd=ROOT,
                               env=api_env, stdout=log, stderr=subprocess.STDOUT)
    workers = []
    for i in range(2):
        with (tmp_path / f"worker{i}.log").open("wb") as log:
            workers.append(subprocess.Popen([sys.executable, "-m", "lightbox", "worker"], cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=log))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded CI box can take a while to import gunicorn's app
        while True:
            try:
                if requests.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # refused while starting, or slow to answer the first time
                pass
            assert api.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()[-3000:]
            time.sleep(0.1)
        yield Compose(url, bucket, s3, conn, db, workers)
    finally:
        for proc in [api, *workers]:
            _stop(proc)
        log.close()
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
        conn.flushdb()
        conn.close()


def _upload(c: Compose, seed: int) -> tuple[str, tuple[str, int, str]]:
    data = jpeg(seed)
    photo_id, key = create_upload(c.url, data)
    etag = c.s3.put_object(Bucket=c.bucket, Key=key, Body=data, ContentType="image/jpeg")["ETag"].strip('"')
    return photo_id, (key, len(data), etag)


def test_thirty_uploads_complete_each_processed_once_by_two_worker_processes(compose: Compose) -> None:
    c = compose
    with ThreadPoolExecutor(8) as pool:
        uploads = list(pool.map(lambda seed: _upload(c, seed), range(PHOTOS)))
    ids = [pid for pid, _ in uploads]
    objects = [obj for _, obj in uploads]
    for start in range(0, PHOTOS, 10):  # MinIO batches records, and may deliver a body twice
        body = minio_body(c.bucket, objects[start:start + 10])
        for _ in range(2):
            r = post_webhook(c.url, body, TOKEN)
            assert r.status_code == 200 and r.json() == {"delivered": 10}

    assert wait_completed(c.url, ids, timeout=25) == dict.fromkeys(ids, "completed")
    time.sleep(0.5)  # room for a duplicate run to show itself

    events = events_by_photo(c.redis)
    differing = {pid: events.get(pid) for pid in ids if events.get(pid) != PIPELINE_EVENTS}
    assert not differing, f"expected {PIPELINE_EVENTS}, got {differing}"  # whole lists: a retry shows why
    counts = stage_counts(c.redis)
    assert len(counts) == PHOTOS * 4 and set(counts.values()) == {1}, counts.most_common(3)
    # Both worker processes took jobs: the queue is shared, not partitioned.
    done = {w.name: w.successful_job_count for w in Worker.all(connection=c.redis)}
    assert len(done) == 2 and all(n > 0 for n in done.values()), done
    # How many jobs that took depends on how Lambda's poller gathered the queues' messages into batches
    # (issue 17); that each stage ran exactly once per photo is the check above.
    assert sum(done.values()) >= PHOTOS * 4 / 10

    # What the operator sees: healthy, and the counts on /metrics agree.
    health = requests.get(f"{c.url}/health", timeout=5).json()
    assert health["status"] == "ok" and health["checks"]["file:photos.db"]["schema_version"] > 0
    assert requests.get(f"{c.url}/metrics", timeout=5).status_code == 401  # issue 17: not without the token
    operator = {"Authorization": f"Bearer {OPERATOR}"}
    metrics = requests.get(f"{c.url}/metrics", headers=operator, timeout=5).text
    assert 'lightbox_queue_messages{queue="ValidateQueue",state="waiting"} 0.0' in metrics
    assert 'lightbox_dlq_messages{queue="ValidateQueue"} 0.0' in metrics
    assert 'lightbox_invocations_total{function="UploadFunction",trigger="http"}' in metrics
    assert requests.get(f"{c.url}/_lightbox/rq/0/data/queues.json", timeout=5).status_code == 401
    assert requests.get(f"{c.url}/_lightbox/rq/0/data/queues.json", headers=operator, timeout=5).status_code == 200
