"""The servers a test session shares: one Redis and one S3 (+SQS) moto server, reset per test."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from redis import Redis

from local.services import ManagedProcess, start_redis, start_s3


@dataclass
class TestServers:
    """Where the session's Redis and moto server listen; `started` holds what this session owns."""

    __test__ = False  # a name pytest would otherwise try to collect

    redis_url: str
    s3_endpoint: str
    started: list[ManagedProcess] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path, redis_url: str | None = None, s3_endpoint: str | None = None) -> TestServers:
        """Start what was not given; a given moto server is reset before each test like our own."""
        started: list[ManagedProcess] = []
        if not redis_url:
            # No AOF: test data need not survive, and fsyncs would only slow every test.
            redis = start_redis(workdir / "redis", appendonly=False)
            started.append(redis)
            redis_url = redis.url
        if not s3_endpoint:
            s3 = start_s3()
            started.append(s3)
            s3_endpoint = s3.url
        return cls(redis_url, s3_endpoint, started)

    @cached_property
    def s3_client(self) -> Any:
        # Local servers take any credentials, but the SDK will not sign without some.
        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                            aws_access_key_id="lightbox", aws_secret_access_key="lightbox")

    def reset(self) -> None:
        """Empty Redis and every bucket and queue, so a test sees nothing an earlier one left."""
        with Redis.from_url(self.redis_url) as conn:
            conn.flushdb()
        # moto's own reset endpoint drops every S3 and SQS resource in one call.
        request = urllib.request.Request(f"{self.s3_endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).read()

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()
