"""Fixtures for the photo functions against a real S3/SQS server (moto) and a real Redis.

`photo_app`: template.yaml on the `lightbox` plugin, real triggers. `photo_env`: the handlers
called one at a time, for tests that step between stages; each function is
`functions/<name>/app.py`, all with the module name `app`, so they are loaded by path under
unique names, as Lambda would load each one in its own process.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
import redis
from photo_harness import ROOT, TOKEN_SECRET, PhotoApp, PhotoEnv

from lightbox.testing import Lightbox
from photolib.config import DEFAULT_PIPELINE


def load_function(name: str) -> ModuleType:
    module_name = f"lightbox_fn_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lightbox_parameters(tmp_path: Path) -> dict[str, str]:
    # One SQLite file per test; tokens signed as photo_harness.bearer signs them.
    return {"PhotosDbPath": str(tmp_path / "photos.db"), "TokenSecret": TOKEN_SECRET}


@pytest.fixture
def photo_app(lightbox: Lightbox, tmp_path: Path) -> PhotoApp:
    return PhotoApp(lightbox, tmp_path / "photos.db")


@pytest.fixture
def photo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_endpoint: str, redis_url: str) -> Iterator[PhotoEnv]:
    suffix = uuid.uuid4().hex[:8]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"photos-{suffix}"
    s3.create_bucket(Bucket=bucket)
    queues = {stage: sqs.create_queue(QueueName=f"{stage}-{suffix}")["QueueUrl"] for stage in DEFAULT_PIPELINE}
    stream = f"events-{suffix}"
    env = {
        "AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_ENDPOINT_URL_SQS": s3_endpoint, "PHOTOS_BUCKET": bucket,
        "PHOTOS_DB_PATH": str(tmp_path / "photos.db"), "REDIS_URL": redis_url, "EVENTS_STREAM": stream,
        "TOKEN_SECRET": TOKEN_SECRET,
        **{f"{stage.upper()}_QUEUE_URL": url for stage, url in queues.items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = redis.Redis.from_url(redis_url)
    photo_env = PhotoEnv(bucket, queues, s3, sqs, client, stream, tmp_path / "photos.db", load_function)
    yield photo_env
    for key in photo_env.blob_keys():
        s3.delete_object(Bucket=bucket, Key=key)
    client.close()
    for url in queues.values():
        sqs.delete_queue(QueueUrl=url)
    s3.delete_bucket(Bucket=bucket)
