"""Typed model of what a template (SAM or CloudFormation, with its child stacks) asks the emulator to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lightbox.template.apimodel import Api


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or ANY
    path: str  # API Gateway style: /orders/{id}, /files/{proxy+}
    payload_version: str  # "2.0" for HTTP APIs (unless the integration says 1.0), "1.0" for REST APIs
    event_name: str  # the SAM event's name, else "METHOD /path"
    api: str = ""  # the API's name as the user wrote it (ServerlessHttpApi, MyApi, Child/Api)
    stage: str = ""  # REST: the stage (Prod); HTTP: $default
    authorizer: str | None = None  # recorded, not enforced (a not-emulated line says so)
    api_id: str = field(default="", compare=False)  # what the API's Ref gives (a deterministic id)


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
    maximum_batching_window: int = 0  # seconds the poller gathers a batch for
    filter_criteria: tuple[dict[str, Any], ...] = ()  # FilterCriteria.Filters: [{"Pattern": "<json>"}]
    maximum_concurrency: int = 0  # ScalingConfig.MaximumConcurrency; 0: as many batches as workers


@dataclass(frozen=True)
class ScheduleTrigger:
    expression: str  # rate(...) or cron(...)
    input: str | None  # JSON text sent instead of the scheduled event, as EventBridge does
    enabled: bool
    event_name: str
    rule: str = ""  # the rule's (or schedule's) name, for the event's `resources`
    flexible_window_minutes: int = 0  # Scheduler's FlexibleTimeWindow; locally it fires on time
    queue: str = ""  # an SQS target's queue name (Template.queue_targets); "" for a function
    scheduler: bool = False  # an EventBridge Scheduler schedule: the target gets its Input (or {}) as is


@dataclass(frozen=True)
class StreamTrigger:
    """An event source mapping on a DynamoDB stream or a Kinesis stream (AWS::Lambda::EventSourceMapping)."""

    source: str  # "dynamodb" or "kinesis"
    arn: str  # EventSourceArn: a table's stream ARN, or a Kinesis stream's ARN
    event_name: str
    starting_position: str = "LATEST"  # TRIM_HORIZON, LATEST, AT_TIMESTAMP
    starting_timestamp: float | None = None  # StartingPositionTimestamp, for AT_TIMESTAMP
    batch_size: int = 100
    maximum_batching_window: int = 0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1  # -1: retried until the record expires, as AWS's default
    maximum_record_age: int = -1  # -1: no limit
    parallelization_factor: int = 1
    filter_criteria: tuple[dict[str, Any], ...] = ()
    report_batch_item_failures: bool = False
    on_failure: str | None = None  # DestinationConfig.OnFailure.Destination: an SQS queue or SNS topic ARN
    enabled: bool = True

    @property
    def stream_name(self) -> str:
        """The table (DynamoDB) or stream (Kinesis) the ARN names."""
        resource = self.arn.split(":", 5)[-1]  # table/T/stream/2024-... or stream/S
        parts = resource.split("/")
        return parts[1] if len(parts) > 1 else resource


@dataclass(frozen=True)
class SnsTrigger:
    """A subscription to a topic: a function's (on its triggers) or a queue's (Template.queue_targets)."""

    topic: str  # the topic's name: publishes to it, in whatever account the SDK's ARN says, are delivered
    event_name: str
    filter_policy: dict[str, Any] | None = None
    filter_policy_scope: str = "MessageAttributes"  # or MessageBody
    queue: str = ""  # an SQS subscriber's queue name; "" for a function
    raw: bool = False  # RawMessageDelivery: the message itself, not SNS's JSON envelope (SQS only)
    subscription: str = ""  # the subscription's name (its logical id), for its ARN in the event


@dataclass(frozen=True)
class RuleTrigger:
    """One target of an EventBridge rule with an event pattern: a function's, or a queue's."""

    rule: str  # the rule's name
    bus: str  # the event bus's name (default)
    pattern: dict[str, Any]
    enabled: bool
    event_name: str
    target_id: str = ""
    input: str | None = None  # Input: JSON text sent instead of the event
    input_path: str | None = None  # InputPath: the part of the event sent
    input_paths: dict[str, str] | None = None  # InputTransformer.InputPathsMap
    input_template: str | None = None  # InputTransformer.InputTemplate
    queue: str = ""  # an SQS target's queue name; "" for a function


Trigger = HttpRoute | S3Trigger | SqsTrigger | ScheduleTrigger | SnsTrigger | RuleTrigger | StreamTrigger


@dataclass(frozen=True)
class EventInvokeConfig:
    """AWS::Lambda::EventInvokeConfig (or SAM's EventInvokeConfig): what an async invoke does on failure."""

    maximum_retry_attempts: int | None = None
    maximum_event_age_seconds: int | None = None
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None


@dataclass
class Function:
    name: str  # what the user calls it: the logical id, `Child/Fn` in a child stack, the construct id for CDK
    handler: str  # module.attr for Python, file.export for Node, anything for provided.*
    code_uri: Path  # a local folder holding the code, whatever form the template gave it in
    runtime: str  # as the template says: python3.12, nodejs20.x, provided.al2023 ("" for images)
    timeout: float  # seconds
    memory_size: int
    environment: dict[str, str]
    layers: list[Path]  # each layer's folder; python/ under it goes on sys.path
    triggers: list[Trigger] = field(default_factory=list)
    function_name: str = ""  # the physical name (FunctionName, else derived from the logical id)
    logical_id: str = ""  # in its own stack
    package_type: str = "Zip"  # Zip or Image; the runtime layer decides what it can run
    image_uri: str | None = None
    architectures: tuple[str, ...] = ("x86_64",)
    reserved_concurrency: int | None = None
    event_invoke_config: EventInvokeConfig | None = None
    dead_letter_arn: str | None = None  # DeadLetterConfig.TargetArn (async invokes)
    layer_arns: tuple[str, ...] = ()  # layers from outside the template: run with what is installed
    handler_found: bool = True  # False: invocations fail with Runtime.ImportModuleError, as on Lambda
    tenant_isolation: bool = False  # TenancyConfig PER_TENANT: each invocation names a tenant, own environments
    debug_port: int | None = None  # `--debug`: its environment waits for a debugger here (template/debug.py)

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
    fifo: bool = False


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
class TopicNotification:
    """A bucket's `NotificationConfiguration.TopicConfigurations` entry: S3 -> SNS, one message per record."""

    topic: str  # the topic's ARN
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
    topic_notifications: tuple[TopicNotification, ...] = ()

    @property
    def event_types(self) -> set[str]:
        return {e for n in self.queue_notifications for e in n.events} | {
            e for t in self.topic_notifications for e in t.events}


@dataclass(frozen=True)
class Resource:
    """Any resource of any stack, with its properties resolved: what a provisioner needs."""

    name: str  # Child/LogicalId
    logical_id: str
    type: str
    properties: dict[str, Any]
    physical_name: str
    stack: str  # "" for the root, Child, Child/Grandchild
    user_type: str = ""  # the SAM type it came from (AWS::Serverless::SimpleTable), if any


@dataclass(frozen=True)
class Finding:
    """One line about something the template asks for that runs differently here.

    kind: "not-emulated" (changes behaviour and does not happen), "warning" (runs, but not as on AWS,
    or AWS would refuse it at deploy), "ignored" (changes nothing locally; shown with -v).
    """

    resource: str
    type: str
    prop: str
    message: str
    kind: str = "not-emulated"

    def line(self) -> str:
        where = f"{self.prop}: " if self.prop else ""
        return f"{self.resource} ({self.type}): {where}{self.message}"


@dataclass
class Template:
    path: Path
    functions: dict[str, Function]
    queues: dict[str, Queue]  # by queue name
    buckets: dict[str, Bucket]  # by bucket name
    region: str
    account_id: str
    resources: dict[str, Resource] = field(default_factory=dict)  # by Child/LogicalId
    findings: list[Finding] = field(default_factory=list)
    files: tuple[Path, ...] = ()  # every file the template was read from (child stacks, includes, ...)
    stack_name: str = ""
    notes: list[str] = field(default_factory=list)  # how it was loaded (the sam build output, cdk.out ...)
    apis: dict[str, Api] = field(default_factory=dict)  # every API Gateway API by its id (apimodel.py)
    # SNS subscriptions, rule targets and schedules whose endpoint is one of the template's queues.
    queue_targets: list[SnsTrigger | RuleTrigger | ScheduleTrigger] = field(default_factory=list)

    def function(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            pass
        # As `sam local invoke` does: the full path first, then a logical id or FunctionName in any stack.
        for fn in sorted(self.functions.values(), key=lambda f: f.name):
            if name in (fn.logical_id, fn.function_name):
                return fn
        known = ", ".join(sorted(self.functions)) or "none"
        raise KeyError(f"no function named {name!r} in {self.path} (functions: {known})")

    def queue_consumers(self, queue: str) -> list[tuple[Function, SqsTrigger]]:
        return [(f, t) for f in self.functions.values() for t in f.of_kind(SqsTrigger) if t.queue == queue]

    def topic_subscribers(self, topic: str) -> list[tuple[Function | None, SnsTrigger]]:
        """Every subscription to the topic (by name): (function, subscription) or (None, a queue's)."""
        found: list[tuple[Function | None, SnsTrigger]] = [
            (f, t) for f in self.functions.values() for t in f.of_kind(SnsTrigger) if t.topic == topic]
        found.extend((None, t) for t in self.queue_targets if isinstance(t, SnsTrigger) and t.topic == topic)
        return found

    def bus_rules(self, bus: str) -> list[tuple[Function | None, RuleTrigger]]:
        """Every enabled rule target on the bus (by name): (function, target) or (None, a queue's)."""
        found: list[tuple[Function | None, RuleTrigger]] = [
            (f, t) for f in self.functions.values() for t in f.of_kind(RuleTrigger) if t.bus == bus and t.enabled]
        found.extend((None, t) for t in self.queue_targets
                     if isinstance(t, RuleTrigger) and t.bus == bus and t.enabled)
        return found

    def routes(self) -> list[tuple[Function, HttpRoute]]:
        return [(f, t) for f in self.functions.values() for t in f.of_kind(HttpRoute)]

    def type_of(self, fn: Function) -> str:
        """The type the user wrote the function as (AWS::Serverless::Function, AWS::Lambda::Function)."""
        stack = fn.name.rsplit("/", 1)[0] if "/" in fn.name else ""
        res = self.resources.get(f"{stack}/{fn.logical_id}".lstrip("/"))
        return (res.user_type or res.type) if res else "AWS::Lambda::Function"

    def shown(self, verbose: bool = False) -> list[Finding]:
        """The findings `up` and `validate` print: every one but the ignored, unless verbose."""
        return [f for f in self.findings if verbose or f.kind != "ignored"]
