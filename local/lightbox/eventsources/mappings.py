"""Every stream event source mapping of the template, started with `lightbox up` (one call from
stack/up.py), and what `lightbox status` shows of each mapping: where it is, and how far behind."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from redis.exceptions import RedisError

from lightbox import config
from lightbox.eventsources import checkpoints
from lightbox.eventsources.destinations import OnFailure
from lightbox.eventsources.filters import compile_filters, keeper, kinesis_view
from lightbox.eventsources.poller import StreamPoller
from lightbox.eventsources.shards import DynamoDBShards, KinesisShards, Shards
from lightbox.runtime.invoke import Runtime
from lightbox.sqs import gather
from lightbox.sqs.queues import Broker
from lightbox.template.model import SqsTrigger, StreamTrigger, Template

log = logging.getLogger("lightbox.eventsources")


class Clients:
    """boto3 clients on the embedded services (moto), signed with the emulator's own credentials."""

    def __init__(self, endpoint: str, region: str) -> None:
        key, secret = config.credentials()
        self._session = boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region)
        self.endpoint = endpoint

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint,
                                    config=Config(retries={"max_attempts": 2}))


def mapping_name(function: str, trigger: SqsTrigger | StreamTrigger) -> str:
    return f"{function}:{trigger.event_name}"


def start_stream_pollers(runtime: Runtime, broker: Broker, endpoint: str | None,
                         retry_base: float = config.RETRY_BASE_SECONDS) -> list[StreamPoller]:
    """A poller thread per enabled DynamoDB/Kinesis mapping, reading the services at `endpoint`."""
    template = runtime.template
    streams = [(f.name, t) for f in template.functions.values() for t in f.of_kind(StreamTrigger) if t.enabled]
    if not streams:
        return []
    if not endpoint:
        log.warning("no embedded AWS services to read DynamoDB/Kinesis streams from: %d mapping(s) get nothing",
                    len(streams))
        return []
    clients = Clients(endpoint, template.region)
    discard = OnFailure(broker, lambda: clients.client("sns"))
    pollers = []
    for function, trigger in streams:
        where = f"{function} <- {trigger.arn}"
        view = kinesis_view if trigger.source == "kinesis" else (lambda r: r)
        poller = StreamPoller(function, trigger, runtime, _opener(clients, template, trigger),
                              keeper(compile_filters(trigger.filter_criteria, where), view),
                              checkpoints.Checkpoints(broker.connection, mapping_name(function, trigger)),
                              discard, retry_base)
        poller.start()
        pollers.append(poller)
    return pollers


def _opener(clients: Clients, template: Template, trigger: StreamTrigger) -> Any:
    def open_shards() -> Shards:
        if trigger.source == "dynamodb":
            return DynamoDBShards(trigger, clients, template.region)
        role = f"arn:aws:iam::{template.account_id}:role/lightbox-local"
        return KinesisShards(trigger, clients, template.region, role)
    return open_shards


def check_filters(template: Template) -> None:
    """A pattern Lambda would refuse stops `up`, as CreateEventSourceMapping refuses it."""
    for fn in template.functions.values():
        for t in fn.triggers:
            if isinstance(t, SqsTrigger | StreamTrigger):
                compile_filters(t.filter_criteria, f"{fn.name}.{t.event_name}")


@dataclass(frozen=True)
class MappingStatus:
    name: str
    source: str  # sqs, dynamodb, kinesis
    state: str  # Enabled / Disabled
    position: str
    lag: str


def statuses(broker: Broker) -> list[MappingStatus]:
    out = []
    for fn in broker.template.functions.values():
        for t in fn.triggers:
            if isinstance(t, SqsTrigger):
                state = "Enabled" if t.enabled else "Disabled"
                out.append(MappingStatus(mapping_name(fn.name, t), f"sqs {t.queue}", state, "-",
                                         f"{gather.waiting(broker.connection, t.queue)} msg"))
            elif isinstance(t, StreamTrigger):
                seen = checkpoints.read(broker.connection, mapping_name(fn.name, t))
                state = "Enabled" if t.enabled else "Disabled"
                position = f"{seen['shard']}@{seen['sequence']}" if "sequence" in seen else "not started"
                lag = f"{seen['lag_ms']} ms" if "lag_ms" in seen else "-"
                out.append(MappingStatus(mapping_name(fn.name, t), f"{t.source} {t.stream_name}", state, position, lag))
    return out


class QueueNudge(threading.Thread):
    """Starts a receive on each consumed queue with messages waiting and none on its way: messages a
    previous run left, or those a receive took back from one that died (sqs/queues.py Broker.receive).
    Sends start receives themselves; this is for a queue nobody sends to any more."""

    def __init__(self, broker: Broker, interval: float = config.MAINTENANCE_INTERVAL_SECONDS) -> None:
        super().__init__(name="lightbox-sqs-nudge", daemon=True)
        self.broker, self.interval = broker, interval
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def nudge(self) -> None:
        for queue in sorted({t.queue for f in self.broker.template.functions.values() for t in f.of_kind_sqs()}):
            self.broker.receive(queue)

    def run(self) -> None:
        while True:
            try:
                self.nudge()
            except RedisError as exc:  # Redis restarting: the next pass tries again
                log.warning("could not look at the queues: %s", exc)
            if self._stop_event.wait(self.interval):
                return


def start(runtime: Runtime, broker: Broker, endpoint: str | None,
          retry_base: float) -> list[StreamPoller | QueueNudge]:
    """What `lightbox up` starts for the template's event source mappings."""
    check_filters(runtime.template)
    nudge = QueueNudge(broker)
    nudge.start()
    return [nudge, *start_stream_pollers(runtime, broker, endpoint, retry_base)]


def status_lines(broker: Broker) -> list[str]:
    """`lightbox status`'s table of mappings (none: no lines)."""
    rows = statuses(broker)
    if not rows:
        return []
    return ["", f"{'MAPPING':34} {'SOURCE':30} {'STATE':9} {'POSITION':36} LAG",
            *(f"{r.name:34} {r.source:30} {r.state:9} {r.position:36} {r.lag}" for r in rows)]
