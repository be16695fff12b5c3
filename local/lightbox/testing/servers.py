"""The servers a test session shares: one Redis and one S3 (+SQS) moto server, reset per test."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from redis import Redis
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.serving import BaseWSGIServer

from lightbox.apigateway.http_server import make_gateway_server
from lightbox.services.processes import ManagedProcess, start_redis, start_s3

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


@dataclass
class TestServers:
    """Where the session's Redis and moto server listen; `started` holds what this session owns."""

    __test__ = False  # a name pytest would otherwise try to collect

    redis_url: str
    s3_endpoint: str
    started: list[ManagedProcess] = field(default_factory=list)
    # One gateway port for the session: functions' SQS endpoint (and the clients they cache on it)
    # stays the same from test to test, while each test mounts its own app on it.
    _gateway: BaseWSGIServer | None = None
    _app: WsgiApp = field(default_factory=lambda: ServiceUnavailable("no lightbox test is running"))

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

    @property
    def gateway_url(self) -> str:
        if self._gateway is None:
            self._gateway = make_gateway_server("127.0.0.1", 0, self._dispatch)
            # A short poll interval: shutdown() waits for one.
            threading.Thread(target=self._gateway.serve_forever, args=(0.05,), name="lightbox-test-gateway",
                             daemon=True).start()
        return f"http://127.0.0.1:{self._gateway.server_port}"

    def mount(self, app: WsgiApp | None) -> None:
        """The app the gateway serves until the next mount (None: answer 503)."""
        self._app = app or ServiceUnavailable("no lightbox test is running")

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._app(environ, start_response)

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
        if self._gateway is not None:
            self._gateway.shutdown()
            self._gateway.server_close()
        for server in reversed(self.started):
            server.stop()
