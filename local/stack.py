"""Everything `lightbox up` runs: services, gateway, bucket events, schedules and workers."""

from __future__ import annotations

import contextlib
import functools
import json
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

from local import defaults, health, metrics
from local.broker import Broker
from local.exceptions import HandlerNotFound
from local.gateway import create_app, unclaimed
from local.model import ScheduleTrigger, Template
from local.runtime import Runtime
from local.schedule import Scheduler, scheduled_event
from local.services import ManagedProcess, free_port, start_redis, start_s3
from local.settings import Settings
from local.sources import minio, s3_poller
from local.sqs import SqsApi
from local.sqs import blueprint as sqs_blueprint
from local.template import load_template

log = logging.getLogger(__name__)


def function_env(settings: Settings) -> dict[str, str]:
    """What every function gets from the emulator so plain boto3/redis code reaches local services."""
    env = {
        "AWS_ENDPOINT_URL_SQS": settings.public_sqs_endpoint,
        # Local servers accept any credentials; AWS SDKs refuse to sign without some.
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "lightbox"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "lightbox"),
    }
    if settings.s3_endpoint:
        env["AWS_ENDPOINT_URL_S3"] = settings.s3_endpoint
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def build_runtime(settings: Settings) -> Runtime:
    template = load_template(settings.template, parameter_overrides=settings.parameter_overrides,
                             sqs_endpoint=settings.public_sqs_endpoint)
    return Runtime(template, env=function_env(settings), hot_reload=settings.hot_reload)


def emulator_blueprints(settings: Settings, runtime: Runtime, broker: Broker) -> list[Blueprint]:
    """The emulator's own endpoints, the same under `lightbox up` and under gunicorn (local/wsgi.py)."""
    checks = health.HealthChecks(broker, settings.s3_endpoint, health.sqlite_path_from_env())
    return [sqs_blueprint(SqsApi(broker, lambda: settings.public_sqs_endpoint)),
            minio.blueprint(broker, settings.webhook_token),
            metrics.blueprint(broker, ["/_lightbox/metrics", *unclaimed(runtime, ["/metrics"])]),
            health.blueprint(checks, ["/_lightbox/ready", *unclaimed(runtime, ["/health"])])]


def fire_schedule(broker: Broker, key: str, when: datetime) -> None:
    """EventBridge invokes asynchronously: the scheduled event becomes an async invoke on the queue."""
    template = broker.template
    function, event_name = key.split(":", 1)
    trig = next(t for t in template.function(function).of_kind(ScheduleTrigger) if t.event_name == event_name)
    rule = f"arn:aws:events:{template.region}:{template.account_id}:rule/{function}-{event_name}"
    event = json.loads(trig.input) if trig.input else scheduled_event(
        rule, template.region, template.account_id, when)
    broker.invoke_async(function, event, f"schedule:{event_name}")


def schedules(broker: Broker) -> Scheduler:
    """The template's enabled schedules; `lightbox up` runs it in a thread, compose in `lightbox scheduler`."""
    entries = [(f"{f.name}:{t.event_name}", t.expression) for f in broker.template.functions.values()
               for t in f.of_kind(ScheduleTrigger) if t.enabled]
    return Scheduler(entries, functools.partial(fire_schedule, broker))


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

    def worker_env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "REDIS_URL": str(s.redis_url),
            "S3_ENDPOINT_URL": str(s.s3_endpoint),
            "LIGHTBOX_SQS_ENDPOINT": s.public_sqs_endpoint,
            "LIGHTBOX_RETRY_BASE_SECONDS": str(s.retry_base),
            "LIGHTBOX_HOT_RELOAD": "1" if s.hot_reload else "0",
        }

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One more worker process (what `--scale worker=N` does under compose)."""
        s = self.settings
        args = [sys.executable, "-m", "local.cli", "worker", "-t", str(s.template)]
        for k, v in s.parameter_overrides.items():
            args += ["--parameter-overrides", f"{k}={v}"]
        proc = subprocess.Popen(args, env=self.worker_env(), start_new_session=True)
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
                proc.wait(timeout=max(5, defaults.FUNCTION_TIMEOUT * 2))
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
