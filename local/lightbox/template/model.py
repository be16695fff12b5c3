"""Typed model of what a SAM template asks the emulator to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # API Gateway style: /orders/{id}, /files/{proxy+}
    payload_version: str  # "2.0" for HttpApi, "1.0" for Api (REST)
    event_name: str


def s3_filter_matches(events: tuple[str, ...], prefix: str, suffix: str, event_name: str, key: str) -> bool:
    """AWS matches `s3:ObjectCreated:*` against the record's `eventName` (`ObjectCreated:Put`)."""
    wanted = any(
        f"s3:{event_name}" == e or (e.endswith(":*") and f"s3:{event_name}".startswith(e[:-1]))
        for e in events
    )
    return wanted and key.startswith(prefix) and key.endswith(suffix)


@dataclass(frozen=True)
class S3Trigger:
    bucket: str  # bucket name
    events: tuple[str, ...]  # s3:ObjectCreated:* ...
    prefix: str
    suffix: str
    event_name: str

    def matches(self, event_name: str, key: str) -> bool:
        return s3_filter_matches(self.events, self.prefix, self.suffix, event_name, key)


@dataclass(frozen=True)
class SqsTrigger:
    queue: str  # queue name
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool
    event_name: str


@dataclass(frozen=True)
class ScheduleTrigger:
    expression: str  # rate(...) or cron(...)
    input: str | None  # JSON text sent instead of the scheduled event, as EventBridge does
    enabled: bool
    event_name: str


Trigger = HttpRoute | S3Trigger | SqsTrigger | ScheduleTrigger


@dataclass
class Function:
    name: str  # logical id; also the function name locally
    handler: str  # module.attr, relative to code_uri
    code_uri: Path
    runtime: str
    timeout: float  # seconds
    memory_size: int
    environment: dict[str, str]
    layers: list[Path]  # each layer's root; its python/ dir goes on sys.path
    triggers: list[Trigger] = field(default_factory=list)

    def of_kind(self, kind: type) -> list:  # type: ignore[type-arg]
        return [t for t in self.triggers if isinstance(t, kind)]

    def of_kind_sqs(self) -> list[SqsTrigger]:
        return [t for t in self.triggers if isinstance(t, SqsTrigger)]


@dataclass(frozen=True)
class Queue:
    name: str
    logical_id: str
    visibility_timeout: int
    dead_letter_queue: str | None  # queue name
    max_receive_count: int | None


@dataclass(frozen=True)
class QueueNotification:
    """A bucket's `NotificationConfiguration.QueueConfigurations` entry: S3 -> SQS, one record per message."""

    queue: str  # queue name
    events: tuple[str, ...]
    prefix: str
    suffix: str

    def matches(self, event_name: str, key: str) -> bool:
        return s3_filter_matches(self.events, self.prefix, self.suffix, event_name, key)


@dataclass(frozen=True)
class Bucket:
    name: str
    logical_id: str
    # CorsConfiguration.CorsRules in the S3 API's shape (put_bucket_cors), so browsers can POST to it.
    cors_rules: tuple[dict[str, Any], ...] = ()
    queue_notifications: tuple[QueueNotification, ...] = ()

    @property
    def event_types(self) -> set[str]:
        return {e for n in self.queue_notifications for e in n.events}


@dataclass
class Template:
    path: Path
    functions: dict[str, Function]
    queues: dict[str, Queue]  # by queue name
    buckets: dict[str, Bucket]  # by bucket name
    region: str
    account_id: str

    def function(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            known = ", ".join(sorted(self.functions)) or "none"
            raise KeyError(f"no function named {name!r} in {self.path} (functions: {known})") from None

    def queue_consumers(self, queue: str) -> list[tuple[Function, SqsTrigger]]:
        return [(f, t) for f in self.functions.values() for t in f.of_kind(SqsTrigger) if t.queue == queue]

    def routes(self) -> list[tuple[Function, HttpRoute]]:
        return [(f, t) for f in self.functions.values() for t in f.of_kind(HttpRoute)]
