"""One test's emulator: a template's functions on the session's servers, with triggers run on demand.

Triggers are not run by background threads: `drain()` polls the bucket-event queue once and runs
every queued RQ job in the test's own thread (a burst worker), again and again until nothing is
left. So a test sees every consequence of what it did before its next line runs, and a test never
waits on a sleep. Retries happen at once (no backoff) so a failing message reaches the
dead-letter queue within the same drain.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from redis import Redis
from rq.serializers import JSONSerializer
from werkzeug.test import TestResponse

from lightbox.apigateway.gateway import create_app
from lightbox.cloudformation.provision import provision_for
from lightbox.config import Settings, function_env
from lightbox.exceptions import LightboxError
from lightbox.queueing import jobs
from lightbox.queueing.worker import LightboxWorker, worker_queues
from lightbox.s3 import poller as s3_poller
from lightbox.sqs.api import SqsApi
from lightbox.sqs.api import blueprint as sqs_blueprint
from lightbox.sqs.queues import Broker, DeadLetter
from lightbox.template.loader import load_template
from lightbox.template.model import Template
from lightbox.testing.isolation import RecordingProcessRuntime, collision_message
from lightbox.testing.messaging import Buses, Topics
from lightbox.testing.recording import InvocationLogHandler, InvocationRecord, RecordingRuntime
from lightbox.testing.servers import TestServers

T = TypeVar("T")
# A function that keeps triggering itself would otherwise make drain() spin for ever.
MAX_DRAIN_ROUNDS = 1000


class ConditionNotMet(AssertionError):
    """wait_until ran out of time; an AssertionError so pytest reports it as a failed check."""


class _DrainWorker(LightboxWorker):
    def _install_signal_handlers(self) -> None:
        """Ctrl-C stays pytest's: a burst worker must not take SIGINT/SIGTERM from the test runner."""

    def subscribe(self) -> None:
        """No command channel: nobody sends `rq` commands to a burst worker, and stopping its listener
        thread costs up to a second on every drain."""


class Buckets:
    """The template's buckets on the embedded S3 server; `client` is a plain boto3 S3 client."""

    def __init__(self, client: Any, drain: Callable[[], None]) -> None:
        self.client = client
        self._drain = drain

    def put(self, bucket: str, key: str, body: bytes | str, content_type: str | None = None,
            run: bool = True) -> None:
        """Write an object; the bucket notifies as S3 does, and with run=True its triggers run now."""
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        if run:
            self._drain()

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


class Queues:
    """The template's queues, sent to through the emulator's SQS API (the one functions reach with boto3)."""

    def __init__(self, api: SqsApi, broker: Broker, drain: Callable[[], None]) -> None:
        self._api = api
        self._broker = broker
        self._drain = drain

    def url(self, queue: str) -> str:
        return str(self._api.get_queue_url({"QueueName": queue})["QueueUrl"])

    def send(self, queue: str, body: str | dict[str, Any], delay_seconds: int = 0, run: bool = True) -> str:
        """Send one message (a dict is sent as JSON); with run=True its consumer runs now. Returns its id."""
        text = body if isinstance(body, str) else json.dumps(body)
        reply = self._api.send_message({"QueueUrl": queue, "MessageBody": text, "DelaySeconds": delay_seconds})
        if run:
            self._drain()
        return str(reply["MessageId"])

    def depth(self, queue: str) -> dict[str, int]:
        """waiting / running / retrying / dead counts, as `lightbox status` shows them."""
        return self._broker.depth(queue)


class Lightbox:
    """The emulator for one test, on servers reset for it; `close()` when done."""

    def __init__(self, servers: TestServers, template_path: Path,
                 parameters: Mapping[str, str] | None = None, isolation: str = "thread") -> None:
        self.servers = servers
        # The gateway listens for real: functions send to queues with boto3, over HTTP, to its SQS API.
        self.url = servers.gateway_url
        # The moto server is every other AWS service too (AWS_ENDPOINT_URL), with the template's tables,
        # topics, secrets ... created on it as `up` creates them; their real ARNs are recorded in a folder of
        # this test's.
        self._data = tempfile.TemporaryDirectory(prefix="lightbox-test-")
        try:
            self._start(servers, template_path, parameters, isolation)
        except BaseException:  # a template this fixture refuses: nothing is left for the garbage collector
            self._data.cleanup()
            raise

    def _start(self, servers: TestServers, template_path: Path, parameters: Mapping[str, str] | None,
               isolation: str) -> None:
        settings = Settings(template=template_path, port=int(self.url.rsplit(":", 1)[1]), workers=0,
                            redis_url=servers.redis_url, s3_endpoint=servers.s3_endpoint, bucket_events="poll",
                            retry_base=0.0, hot_reload=False, parameter_overrides=dict(parameters or {}),
                            cloud_endpoint=servers.s3_endpoint, data_dir=Path(self._data.name))

        def load() -> Template:
            return load_template(template_path, parameter_overrides=settings.parameter_overrides,
                                 sqs_endpoint=settings.public_sqs_endpoint, data_dir=settings.data_dir)

        self.template: Template = load()
        if provision_for(settings, self.template).values:
            self.template = load()
        if isolation == "process":  # environments, as `lightbox up` runs them
            self.runtime: RecordingRuntime | RecordingProcessRuntime = RecordingProcessRuntime(
                self.template, env=function_env(settings))
        else:
            shared = collision_message(self.template)
            if shared:
                raise LightboxError(shared)
            self.runtime = RecordingRuntime(self.template, env=function_env(settings))
        self.redis = Redis.from_url(servers.redis_url)
        self.broker = Broker(self.template, self.redis, retry_base=0.0)
        api = SqsApi(self.broker, lambda: settings.public_sqs_endpoint)
        # Only the SQS API of the emulator's own endpoints: /health and /metrics are not what tests are about.
        self.app = create_app(self.runtime, [sqs_blueprint(api)])
        jobs.install(self.runtime)
        self.s3 = Buckets(servers.s3_client, self.drain)
        self.sqs = Queues(api, self.broker, self.drain)
        self.sns, self.events = Topics(self.broker, self.drain), Buses(self.broker, self.drain)
        self._poller: s3_poller.BucketPoller | None = None
        if self.template.buckets:  # creates the buckets and their S3 -> SQS notification, as `up` does
            queue_url = s3_poller.configure(self.broker, servers.s3_endpoint)
            self._poller = s3_poller.BucketPoller(self.broker, servers.s3_endpoint, queue_url)
        self._log_handler = InvocationLogHandler()
        root = logging.getLogger()
        self._root_level = root.level
        root.addHandler(self._log_handler)
        root.setLevel(min(root.level, logging.INFO))  # a handler's log.info reaches its invocation's logs
        servers.mount(self.app)

    # -- doing things ----------------------------------------------------------------------
    def invoke(self, function: str, event: Any = None, run: bool = True) -> Any:
        """Invoke in-process; returns the handler's result or raises its error, traceback and all."""
        result = self.runtime.invoke(function, {} if event is None else event).unwrap()
        if run:
            self.drain()
        return result

    def http(self, method: str, path: str, *, json: Any = None, data: bytes | str | dict[str, Any] | None = None,
             headers: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None,
             run: bool = True) -> TestResponse:
        """A request through the real gateway (Flask test client): API Gateway's event and response mapping."""
        response = self.app.test_client().open(path, method=method.upper(), json=json, data=data,
                                               headers=dict(headers or {}), query_string=dict(query or {}))
        if run:
            self.drain()
        return response

    def drain(self) -> None:
        """Run everything triggered so far, and everything that triggers, until nothing is queued."""
        queues = worker_queues(self.template, self.redis)
        for _ in range(MAX_DRAIN_ROUNDS):
            delivered = self._poller.poll_once(wait_seconds=0) if self._poller else 0
            worker = _DrainWorker(queues, connection=self.redis, serializer=JSONSerializer)
            # with_scheduler: in burst mode RQ moves due delayed jobs (DelaySeconds) to their queue first.
            worked = worker.work(burst=True, with_scheduler=True, logging_level="CRITICAL")
            if not delivered and not worked:
                return
        raise RuntimeError(f"still busy after {MAX_DRAIN_ROUNDS} rounds: does a function keep triggering itself?")

    def wait_until(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
        """Drain and check until `predicate()` is truthy; return its value. For what takes real time."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise ConditionNotMet(f"{getattr(predicate, '__name__', predicate)} still {value!r} after {timeout}s")
            time.sleep(interval)

    # -- looking at what happened -----------------------------------------------------------
    def dlq(self, queue: str) -> list[DeadLetter]:
        """Dead letters of a queue (or of the queue whose RedrivePolicy names this DLQ)."""
        return self.broker.dead_letters(queue)

    @property
    def invocations(self) -> list[InvocationRecord]:
        return list(self.runtime.records)

    def calls(self, function: str) -> list[InvocationRecord]:
        return [r for r in self.runtime.records if r.function == function]

    def logs(self, function: str | None = None) -> list[str]:
        """Log lines of every invocation (of one function), in order."""
        return [line for r in self.runtime.records if function in (None, r.function) for line in r.logs]

    def failures_report(self) -> str:
        """The failed invocations with their tracebacks, for the pytest report of a failing test."""
        return "\n".join(f"{r.function} ({r.trigger}) failed:\n{r.traceback}" for r in self.runtime.records
                         if not r.ok)

    def close(self) -> None:
        self.servers.mount(None)
        self.runtime.close()
        root = logging.getLogger()
        root.removeHandler(self._log_handler)
        root.setLevel(self._root_level)
        self.redis.close()
        self._data.cleanup()
