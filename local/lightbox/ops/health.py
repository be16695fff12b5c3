"""`/health`: is each part the functions depend on answering? Redis, S3, the files a deployment
names in LIGHTBOX_HEALTH_FILES (a shared database on a volume) and the queues' depths. 200 when
every check passes, 503 naming what failed, so a
compose healthcheck or a load balancer can act on the status alone.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from flask import Blueprint, Response

from lightbox import config
from lightbox.sqs.queues import Broker

# The first bytes of every SQLite database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
# A health probe that hangs is worse than one that fails: compose would wait out its own timeout.
_PROBE_TIMEOUT = 2.0


@dataclass
class Check:
    ok: bool
    detail: dict[str, Any]


def _timed(probe: Callable[[], dict[str, Any]]) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is reported, not raised
        detail, ok = {"error": f"{type(exc).__name__}: {exc}"}, False
    detail["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return Check(ok, detail)


class HealthChecks:
    def __init__(self, broker: Broker, s3_endpoint: str | None, files: Iterable[Path] = ()) -> None:
        self.broker = broker
        self.files = list(files)
        cfg = Config(connect_timeout=_PROBE_TIMEOUT, read_timeout=_PROBE_TIMEOUT, retries={"max_attempts": 1})
        # Local servers take any credentials; the SDK will not sign without some.
        key, secret = config.credentials()
        session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                region_name=broker.template.region)
        self.s3 = session.client("s3", endpoint_url=s3_endpoint, config=cfg)

    def redis(self) -> dict[str, Any]:
        self.broker.connection.ping()
        return {}

    def s3_buckets(self) -> dict[str, Any]:
        buckets = sorted(self.broker.template.buckets)
        if not buckets:  # nothing to look for: reaching the server is the check
            self.s3.list_buckets()
        for bucket in buckets:
            self.s3.head_bucket(Bucket=bucket)
        return {"buckets": buckets}

    def file(self, path: Path) -> dict[str, Any]:
        if not path.is_file():
            # An app creates its database on first use: before that, the volume must at least take it.
            parent = path.parent
            if not (parent.is_dir() and os.access(parent, os.W_OK)):
                raise FileNotFoundError(f"{path} does not exist and {parent} is not a writable directory")
            return {"path": str(path), "exists": False}
        with path.open("rb") as f:
            header = f.read(len(_SQLITE_HEADER))
        if header != _SQLITE_HEADER:
            return {"path": str(path), "exists": True}
        # Read-only and no journal changes: a probe must never take a write lock from the functions.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=_PROBE_TIMEOUT)
        try:
            version = conn.execute("PRAGMA schema_version").fetchone()[0]
        finally:
            conn.close()
        return {"path": str(path), "exists": True, "schema_version": version}

    def queues(self) -> dict[str, Any]:
        return {q: self.broker.depth(q) for q in [*self.broker.queue_names(), config.ASYNC_QUEUE]}

    def run(self) -> tuple[bool, dict[str, Any]]:
        checks = {"redis": _timed(self.redis), "s3": _timed(self.s3_buckets)}
        for path in self.files:
            checks[f"file:{path.name}"] = _timed(functools.partial(self.file, path))
        if checks["redis"].ok:
            checks["queues"] = _timed(self.queues)
        ok = all(c.ok for c in checks.values())
        return ok, {"status": "ok" if ok else "failing",
                    "checks": {name: {"ok": c.ok, **c.detail} for name, c in checks.items()}}


def blueprint(checks: HealthChecks, paths: Iterable[str] = ("/health", "/_lightbox/ready")) -> Blueprint:
    bp = Blueprint("lightbox_health", __name__)

    def health() -> Response:
        ok, report = checks.run()
        return Response(json.dumps(report), status=200 if ok else 503, mimetype="application/json")

    for path in paths:
        bp.add_url_rule(path, f"health{path.replace('/', '_')}", health, methods=["GET"])
    return bp
