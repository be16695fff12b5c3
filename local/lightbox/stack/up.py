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

from botocore.exceptions import BotoCoreError, ClientError
from flask import Blueprint
from redis import Redis
from werkzeug.serving import BaseWSGIServer

from lightbox import config, sigv4
from lightbox.apigateway import function_urls
from lightbox.apigateway.access import access_steps
from lightbox.apigateway.gateway import create_app, unclaimed
from lightbox.apigateway.http_server import make_gateway_server
from lightbox.cloudformation.provision import Provisioned, provision_for
from lightbox.config import Settings
from lightbox.eventbridge import rules
from lightbox.eventbridge.rules import fire_schedule, schedules
from lightbox.eventsources import mappings
from lightbox.eventsources.poller import StreamPoller
from lightbox.exceptions import LightboxError
from lightbox.lambda_ import api as lambda_api
from lightbox.lambda_ import functions as lambda_functions
from lightbox.ops import access, health, metrics
from lightbox.runtime.invoke import Runtime, build_runtime, in_process_problem, runtime_findings
from lightbox.runtime.runtimes import node_sdk
from lightbox.s3 import minio
from lightbox.s3 import poller as s3_poller
from lightbox.services.processes import (
    ManagedProcess,
    ensure_port_free,
    free_port,
    start_redis,
    start_s3,
    stop_processes,
)
from lightbox.services.supervision import child_options
from lightbox.sqs.api import SqsApi
from lightbox.sqs.api import blueprint as sqs_blueprint
from lightbox.sqs.queues import Broker
from lightbox.stack import delivery
from lightbox.template import provisioned
from lightbox.template.loader import load_for, refuse_not_emulated
from lightbox.template.model import Template
from lightbox.template.reload import TemplateWatch

log = logging.getLogger(__name__)


def emulator_blueprints(settings: Settings, runtime: Runtime, broker: Broker) -> list[Blueprint]:
    """The emulator's own endpoints, the same under `lightbox up` and under gunicorn (lightbox/stack/wsgi.py)."""
    checks = health.HealthChecks(broker, settings.s3_endpoint, config.health_files())
    sqs = sqs_blueprint(SqsApi(broker, lambda: settings.public_sqs_endpoint))
    if settings.verify_signatures:  # SigV4 against the configured credentials (LIGHTBOX_VERIFY_SIGNATURES)
        sigv4.protect(sqs, "json")
    return [sqs,
            minio.blueprint(broker, settings.webhook_token), rules.blueprint(broker), *delivery.blueprints(broker),
            metrics.blueprint(broker, ["/_lightbox/metrics", *unclaimed(runtime, ["/metrics"])]),
            health.blueprint(checks, ["/_lightbox/ready", *unclaimed(runtime, ["/health"])]),
            lambda_api.blueprint(runtime, broker), lambda_functions.blueprint(runtime)]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: list[ManagedProcess] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self._retired: list[subprocess.Popen[bytes]] = []  # workers replaced on a template reload
        self._worker_groups: list[int] = []
        self._server: BaseWSGIServer | None = None
        self._threads: list[Any] = []
        self.embedded: list[str] = []

    # -- start ---------------------------------------------------------------------------
    def start(self) -> Stack:
        s = self.settings
        # Load the template first: a template error must stop us before anything is started.
        first = load_for(s)
        if s.strict:
            refuse_not_emulated(first, runtime_findings(first))
        if s.port == 0:
            s.port = free_port()
        ensure_port_free(s.host, s.port)
        try:
            return self._start(first)
        except BaseException:  # a service that failed to start, Ctrl-C meanwhile: what did start stops
            self.stop()
            raise

    def _start(self, first: Template) -> Stack:
        s = self.settings
        if not s.redis_url:
            redis = start_redis(s.data_dir / "redis")
            self.services.append(redis)
            s.redis_url = redis.url
            self.embedded.append("redis")
        if not s.s3_endpoint:
            s3 = start_s3(state_dir=s.data_dir / provisioned.FOLDER, hook=delivery.hook_url(s))
            self.services.append(s3)
            s.s3_endpoint = s3.url
            self.embedded.append("s3")
        s.function_urls = function_urls.plan(first, s.host, s.port + 1)
        if s.debug:  # this process holds the debugged environment; the workers send it its invocations
            s.debug_host = str(os.getpid())
        self._start_cloud(first)
        for line in node_sdk.ensure(first.functions.values()):  # the AWS SDK Lambda's Node.js runtime has
            print(line, flush=True)
        self.runtime = build_runtime(s)
        self.template: Template = self.runtime.template
        self.watch = TemplateWatch(self.template.files)
        self._preload()
        if s.warm:
            self.runtime.warm()
        self.connection = Redis.from_url(s.redis_url)
        self.broker = Broker(self.template, self.connection, s.retry_base)
        delivery.connect(self.template, str(s.cloud_endpoint), bool({"s3", "cloud"} & set(self.embedded)))
        self.app = create_app(self.runtime, emulator_blueprints(s, self.runtime, self.broker),
                              steps=access_steps(s), broker=self.broker)
        access.protect_operator_endpoints(self.app, self.runtime)
        self._start_bucket_events()
        self._start_schedules()
        self._start_event_sources()
        for _ in range(s.workers):
            self.add_worker()
        try:
            self._server = make_gateway_server(s.host, s.port, self.app)
        except OSError as exc:  # taken since ensure_port_free looked
            raise LightboxError(f"port {s.port} on {s.host}: {exc.strerror}; choose another with --port") from None
        thread = threading.Thread(target=self._server.serve_forever, name="lightbox-gateway", daemon=True)
        thread.start()
        self.function_urls = function_urls.UrlServers().start(self.runtime, s.function_urls)
        return self

    def _start_cloud(self, template: Template) -> None:
        """Every other AWS service functions call: the embedded moto server (the S3 one when S3 is
        embedded), with the template's resources created on it before anything is invoked."""
        s = self.settings
        if not s.cloud_endpoint:
            if "s3" in self.embedded:
                s.cloud_endpoint = s.s3_endpoint
            else:
                cloud = start_s3(state_dir=s.data_dir / provisioned.FOLDER, name="cloud", hook=delivery.hook_url(s))
                self.services.append(cloud)
                s.cloud_endpoint = cloud.url
            self.embedded.append("cloud")
        self.provisioned: Provisioned = provision_for(s, template)

    def _preload(self) -> None:
        """A handler that names no function in its file fails `up`, not a request. One whose file is
        missing, or that this runtime does not run, fails its invocations instead (`up` said so)."""
        for fn in self.template.functions.values():
            if fn.handler_found and in_process_problem(fn) is None:  # only a Python handler can be checked now
                self.runtime.load(fn.name)

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def _start_bucket_events(self) -> None:
        mode = self.settings.bucket_events
        if mode == "auto":
            mode = "poll" if "s3" in self.embedded else "webhook"
        self.bucket_events_mode = mode
        if mode != "poll" and self.template.buckets:  # the buckets are made all the same, as CloudFormation would
            try:
                s3_poller.create_buckets(self.template, str(self.settings.s3_endpoint))
            except (BotoCoreError, ClientError) as exc:
                log.warning("the template's buckets could not be made on %s: %s", self.settings.s3_endpoint, exc)
        if mode == "poll" and self.template.buckets:
            queue_url = s3_poller.configure(self.broker, str(self.settings.s3_endpoint))
            poller = s3_poller.BucketPoller(self.broker, str(self.settings.s3_endpoint), queue_url)
            poller.start()
            self._threads.append(poller)

    def _start_schedules(self) -> None:
        self.scheduler = schedules(self.broker)
        self.scheduler.start()
        self._threads.append(self.scheduler)

    def _start_event_sources(self) -> None:
        # The streams are read on the moto server that serves DynamoDB and Kinesis (the cloud endpoint).
        try:
            self._threads.extend(mappings.start(self.runtime, self.broker, self.settings.cloud_endpoint,
                                                self.settings.retry_base))
        except LightboxError:
            self.stop()
            raise

    def _restart_stream_pollers(self) -> None:
        """The reloaded template's DynamoDB/Kinesis mappings: new pollers go on from the old ones'
        checkpoints (a batch the old one was running when stopped is read again, at least once, as Lambda's)."""
        old = [t for t in self._threads if isinstance(t, StreamPoller)]
        for poller in old:
            poller.stop()
            self._threads.remove(poller)
        for poller in old:  # its batch's invocation ends first, so two pollers seldom read one shard at once
            poller.join(config.WORKER_STOP_SECONDS)
        self._threads.extend(mappings.start_stream_pollers(self.runtime, self.broker, self.settings.cloud_endpoint,
                                                           self.settings.retry_base))

    # -- template reload -----------------------------------------------------------------
    def reload_if_changed(self) -> list[str]:
        """When a template file changed: load it again and swap routes, functions and triggers in;
        the lines to print (what was reloaded, or why not)."""
        if not self.watch.changed():
            return []
        try:
            new = load_for(self.settings)
            self.provisioned = provision_for(self.settings, new)
            if self.provisioned.created:  # their real ARNs, into the functions' variables
                new = load_for(self.settings)
            if self.settings.strict:
                refuse_not_emulated(new, runtime_findings(new))
            mappings.check_filters(new)  # a pattern Lambda refuses keeps the old mappings running
        except LightboxError as exc:
            return [f"lightbox: {self.settings.template} changed but cannot be loaded; still running the "
                    "previous one:", *(f"  {line}" for line in str(exc).splitlines())]
        old = self.template
        sdk = node_sdk.ensure(new.functions.values())
        lines = [*sdk, f"lightbox: {self.settings.template} changed: reloaded ({len(new.functions)} functions, "
                 f"{len(new.routes())} routes)"]
        self.watch = TemplateWatch(new.files)
        self.template = new
        self.runtime.replace_template(new)
        self.broker.template = new
        delivery.connect(new, str(self.settings.s3_endpoint), "s3" in self.embedded)
        self._threads.remove(self.scheduler)
        self.scheduler.stop()
        self._start_schedules()
        self._restart_stream_pollers()
        if set(new.buckets) != set(old.buckets) or new.buckets != old.buckets:
            if self.bucket_events_mode == "poll":
                s3_poller.configure(self.broker, str(self.settings.s3_endpoint))
                if not any(isinstance(t, s3_poller.BucketPoller) for t in self._threads):
                    self._start_bucket_events()
            else:
                changed = ", ".join(sorted(set(new.buckets) ^ set(old.buckets))) or "their notifications"
                lines.append(f"  buckets changed ({changed}): lightbox configures buckets only on its embedded S3; "
                             "create them and their notifications in your S3, or restart with the embedded one")
        for proc in list(self.workers):  # workers take their queues and functions from the template at start
            self.workers.remove(proc)
            proc.terminate()  # RQ's warm shutdown: its current job finishes first
            self._retired.append(proc)
            self.add_worker()
        lines.extend(f"  {f.line()}" for f in [*new.shown(), *runtime_findings(new)]
                     if f not in old.findings and f not in runtime_findings(old))
        return lines

    def fire_schedule(self, key: str, when: datetime) -> None:
        fire_schedule(self.broker, key, when)

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One more worker process (what `--scale worker=N` does under compose)."""
        s = self.settings
        args = [sys.executable, "-m", "lightbox", "worker"]
        proc = subprocess.Popen(args, start_new_session=True, **child_options(config.child_env(s)))
        self.workers.append(proc)
        self._worker_groups.append(proc.pid)
        return proc

    # -- stop ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Everything this stack started, within config.WORKER_STOP_SECONDS + SERVICE_STOP_SECONDS (+ the
        gateway's half-second poll)."""
        if hasattr(self, "function_urls"):
            self.function_urls.stop()
        for t in self._threads:
            t.stop()
        if self._server is not None:
            self._server.shutdown()
        # RQ's warm shutdown lets the current invocation finish, within the grace.
        stop_processes([*self.workers, *self._retired], config.WORKER_STOP_SECONDS)
        for pgid in self._worker_groups:
            # A worker that was killed leaves its RQ scheduler child behind; the group has it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        if hasattr(self, "runtime"):
            self.runtime.close()  # every execution environment
        # A moto server keeping state writes it on SIGTERM: it gets the rest of the 5 s budget, not 1 s.
        saves = any(svc.stop_timeout > config.SERVICE_STOP_SECONDS + 5 for svc in self.services)
        stop_processes([svc.proc for svc in reversed(self.services)],
                       config.STATE_SAVE_SECONDS if saves else config.SERVICE_STOP_SECONDS)
        if hasattr(self, "connection"):
            self.connection.close()
