"""`/health`: is each part the functions depend on answering? Redis, S3, the SQLite file (when one
is configured) and the queues' depths. 200 when every check passes, 503 naming what failed, so a
compose healthcheck or a load balancer can act on the status alone.
"""

from __future__ import annotations

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

from local import defaults
from local.broker import Broker

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
    def __init__(self, broker: Broker, s3_endpoint: str | None, sqlite_path: Path | None = None) -> None:
        self.broker = broker
        self.sqlite_path = sqlite_path
        cfg = Config(connect_timeout=_PROBE_TIMEOUT, read_timeout=_PROBE_TIMEOUT, retries={"max_attempts": 1})
        # Local servers take any credentials; the SDK will not sign without some.
        session = boto3.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "lightbox"),
                                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "lightbox"),
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

    def sqlite(self) -> dict[str, Any]:
        assert self.sqlite_path is not None
        if not self.sqlite_path.is_file():
            # The app creates its database on first use: before that, the volume must at least take it.
            parent = self.sqlite_path.parent
            if not (parent.is_dir() and os.access(parent, os.W_OK)):
                raise FileNotFoundError(f"{self.sqlite_path} does not exist and {parent} is not a writable directory")
            return {"path": str(self.sqlite_path), "exists": False}
        # Read-only and no journal changes: a probe must never take a write lock from the workers.
        conn = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=_PROBE_TIMEOUT)
        try:
            version = conn.execute("PRAGMA schema_version").fetchone()[0]
        finally:
            conn.close()
        return {"path": str(self.sqlite_path), "schema_version": version}

    def queues(self) -> dict[str, Any]:
        return {q: self.broker.depth(q) for q in [*self.broker.queue_names(), defaults.ASYNC_QUEUE]}

    def run(self) -> tuple[bool, dict[str, Any]]:
        checks = {"redis": _timed(self.redis), "s3": _timed(self.s3_buckets)}
        if self.sqlite_path is not None:
            checks["sqlite"] = _timed(self.sqlite)
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


# The emulator knows no app's database; a deployment names the file its functions share here.
SQLITE_ENV = "LIGHTBOX_HEALTH_SQLITE"


def sqlite_path_from_env() -> Path | None:
    value = os.environ.get(SQLITE_ENV)
    return Path(value) if value else None
