"""Shared fixtures: a real redis-server and a real S3 HTTP server (moto), each on a free port."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
import redis

from lightbox.services.processes import ManagedProcess, start_redis, start_s3

# boto3 needs credentials and a region even against a local server; set them once for the run.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: ManagedProcess) -> Iterator[str]:
    """A Redis URL whose database is empty at the start and flushed at the end of the test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[ManagedProcess]:
    server = start_s3()
    yield server
    server.stop()


@pytest.fixture
def s3_endpoint(s3_server: ManagedProcess) -> str:
    return s3_server.url


@pytest.fixture
def s3_client(s3_endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
