"""Everything `lightbox up` runs: services, gateway, bucket events, schedules and workers."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any

from flask import Blueprint
from redis import Redis
from werkzeug.serving import BaseWSGIServer, make_server

from lightbox import config
from lightbox.apigateway.gateway import create_app, unclaimed
from lightbox.config import Settings
from lightbox.eventbridge.rules import fire_schedule, schedules
from lightbox.exceptions import HandlerNotFound
from lightbox.ops import health, metrics
from lightbox.runtime.invoke import Runtime, build_runtime
from lightbox.s3 import minio
from lightbox.s3 import poller as s3_poller
from lightbox.services.processes import ManagedProcess, free_port, start_redis, start_s3
from lightbox.sqs.api import SqsApi
from lightbox.sqs.api import blueprint as sqs_blueprint
from lightbox.sqs.queues import Broker
from lightbox.template.loader import load_template
from lightbox.template.model import Template

log = logging.getLogger(__name__)


def emulator_blueprints(settings: Settings, runtime: Runtime, broker: Broker) -> list[Blueprint]:
    """The emulator's own endpoints, the same under `lightbox up` and under gunicorn (lightbox/stack/wsgi.py)."""
    checks = health.HealthChecks(broker, settings.s3_endpoint, config.health_files())
    return [sqs_blueprint(SqsApi(broker, lambda: settings.public_sqs_endpoint)),
            minio.blueprint(broker, settings.webhook_token),
            metrics.blueprint(broker, ["/_lightbox/metrics", *unclaimed(runtime, ["/metrics"])]),
            health.blueprint(checks, ["/_lightbox/ready", *unclaimed(runtime, ["/health"])])]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: list[ManagedProcess] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self._worker_groups: list[int] = []
        self._server: BaseWSGIServer | None = None
        self._threads: list[Any] = []
        self.embedded: list[str] = []

    # -- start ---------------------------------------------------------------------------
    def start(self) -> Stack:
        s = self.settings
        # Load the template first: a template error must stop us before anything is started.
        load_template(s.template, parameter_overrides=s.parameter_overrides)
        if s.port == 0:
            s.port = free_port()
        if not s.redis_url:
            redis = start_redis(s.data_dir / "redis")
            self.services.append(redis)
            s.redis_url = redis.url
            self.embedded.append("redis")
        if not s.s3_endpoint:
            s3 = start_s3()
            self.services.append(s3)
            s.s3_endpoint = s3.url
            self.embedded.append("s3")
        self.runtime = build_runtime(s)
        self.template: Template = self.runtime.template
        try:
            for name in self.template.functions:  # a handler that cannot be found fails `up`, not a request
                self.runtime.load(name)
        except HandlerNotFound:
            self.stop()
            raise
        self.connection = Redis.from_url(s.redis_url)
        self.broker = Broker(self.template, self.connection, s.retry_base)
        self.app = create_app(self.runtime, emulator_blueprints(s, self.runtime, self.broker))
        self._start_bucket_events()
        self._start_schedules()
        for _ in range(s.workers):
            self.add_worker()
        self._server = make_server(s.host, s.port, self.app, threaded=True)
        thread = threading.Thread(target=self._server.serve_forever, name="lightbox-gateway", daemon=True)
        thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def _start_bucket_events(self) -> None:
        mode = self.settings.bucket_events
        if mode == "auto":
            mode = "poll" if "s3" in self.embedded else "webhook"
        self.bucket_events_mode = mode
        if mode == "poll" and self.template.buckets:
            queue_url = s3_poller.configure(self.broker, str(self.settings.s3_endpoint))
            poller = s3_poller.BucketPoller(self.broker, str(self.settings.s3_endpoint), queue_url)
            poller.start()
            self._threads.append(poller)

    def _start_schedules(self) -> None:
        scheduler = schedules(self.broker)
        scheduler.start()
        self._threads.append(scheduler)

    def fire_schedule(self, key: str, when: datetime) -> None:
        fire_schedule(self.broker, key, when)

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One more worker process (what `--scale worker=N` does under compose)."""
        s = self.settings
        args = [sys.executable, "-m", "lightbox", "worker"]
        proc = subprocess.Popen(args, env=config.child_env(s), start_new_session=True)
        self.workers.append(proc)
        self._worker_groups.append(proc.pid)
        return proc

    # -- stop ----------------------------------------------------------------------------
    def stop(self) -> None:
        for t in self._threads:
            t.stop()
        if self._server is not None:
            self._server.shutdown()
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()  # RQ's warm shutdown: the current job finishes first
        for proc in self.workers:
            try:
                proc.wait(timeout=max(5, config.FUNCTION_TIMEOUT * 2))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pgid in self._worker_groups:
            # A worker that was killed leaves its RQ scheduler child behind; the group has it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        for svc in reversed(self.services):
            svc.stop()
        if hasattr(self, "connection"):
            self.connection.close()
