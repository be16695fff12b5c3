"""`lightbox serve UploadFunction`: the function alone behind functions-framework answers as it does
behind the emulator's gateway (same template, same Redis, S3 and SQLite)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import redis
import requests
from photo_client import ROOT, auth

from lightbox.config import Settings
from lightbox.services.processes import ManagedProcess, free_port
from lightbox.stack.up import Stack

HEADERS = auth("alice")


@pytest.fixture(scope="module")
def both(redis_server: ManagedProcess, s3_server: ManagedProcess,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(gateway URL, serve URL) over one bucket and one database."""
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/4"
    bucket = f"photos-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    data = tmp_path_factory.mktemp("serve")
    overrides = {"PhotosBucketName": bucket, "PhotosDbPath": str(data / "photos.db")}
    stack = Stack(Settings.load(template=ROOT / "template.yaml", port=0, workers=0, redis_url=redis_url,
                                s3_endpoint=s3_server.url,
                                cloud_endpoint=s3_server.url, bucket_events="off", data_dir=data,
                                parameter_overrides=overrides)).start()
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "S3_ENDPOINT_URL": s3_server.url,
           "LIGHTBOX_SQS_ENDPOINT": stack.settings.public_sqs_endpoint,
           "LIGHTBOX_PARAMETER_OVERRIDES": " ".join(f"{k}={v}" for k, v in overrides.items())}
    with (data / "serve.log").open("wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "lightbox", "serve", "UploadFunction", "--host", "127.0.0.1",
                                  "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"{url}/photos", headers=HEADERS, timeout=2)
                break
            except requests.ConnectionError:
                assert serve.poll() is None and time.monotonic() < deadline, (data / "serve.log").read_text()[-3000:]
                time.sleep(0.1)
        yield stack.url, url
    finally:
        serve.terminate()
        serve.wait(timeout=15)
        log.close()
        stack.stop()
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
        redis.Redis.from_url(redis_url).flushdb()


def _ask(base: str, method: str, path: str, **kwargs: Any) -> tuple[int, str, Any]:
    r = requests.request(method, f"{base}{path}", headers=HEADERS, timeout=30, **kwargs)
    return r.status_code, r.headers.get("Content-Type", ""), r.json()


def test_the_same_requests_get_the_same_answers(both: tuple[str, str]) -> None:
    gateway, serve = both
    refused = {"filename": "notes.txt", "content_type": "text/plain", "size": 10}
    assert _ask(serve, "POST", "/uploads", json=refused) == _ask(gateway, "POST", "/uploads", json=refused)
    assert _ask(serve, "POST", "/uploads", json=refused)[0] == 400

    # A photo created through one is the same record through the other.
    created = _ask(gateway, "POST", "/uploads", json={"filename": "cat.jpg", "content_type": "image/jpeg",
                                                     "size": 1234})
    assert created[0] == 201
    photo_id = created[2]["photo"]["id"]
    assert _ask(serve, "GET", f"/photos/{photo_id}") == _ask(gateway, "GET", f"/photos/{photo_id}")
    assert _ask(serve, "GET", "/photos") == _ask(gateway, "GET", "/photos")

    status, ctype, body = _ask(serve, "POST", "/uploads", json={"filename": "dog.jpg", "content_type": "image/jpeg",
                                                                "size": 99})
    assert (status, ctype) == created[:2]
    assert body["photo"]["status"] == "pending_upload" and body["photo"]["declared_size"] == 99
    assert set(body["upload"]["post"]["fields"]) == set(created[2]["upload"]["post"]["fields"])


def test_paths_and_methods_the_function_has_no_route_for(both: tuple[str, str]) -> None:
    gateway, serve = both
    assert _ask(serve, "GET", "/nowhere") == _ask(gateway, "GET", "/nowhere") == (
        404, "application/json", {"message": "Not Found"})
    assert _ask(serve, "PUT", "/uploads") == _ask(gateway, "PUT", "/uploads")
    assert _ask(serve, "PUT", "/uploads") == (404, "application/json", {"message": "Not Found"})  # HTTP API: no 405


def test_serve_names_the_function_it_cannot_find() -> None:
    done = subprocess.run([sys.executable, "-m", "lightbox", "serve", "NoSuchFunction", "--port", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.returncode == 2
    assert "NoSuchFunction" in done.stderr and "UploadFunction" in done.stderr
