"""Event sources as CloudFormation declares them: queues, buckets and their notifications, event source
mappings, and CDK's Custom::S3BucketNotifications (rules and schedules: rules.py; topics: topics.py).

Each trigger names its function as the template does (`!Ref Fn`, `!GetAtt Fn.Arn`, an alias), and is
attached once every stack is read. What a source would deliver and the emulator does not is one line.
"""

from __future__ import annotations

import json
from typing import Any

from lightbox import config
from lightbox.exceptions import TemplateError
from lightbox.template import checks, mappings
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.model import Bucket, Queue, QueueNotification, S3Trigger, SqsTrigger, TopicNotification


def arn_name(arn: str) -> str:
    """The resource name at the end of an ARN (`arn:aws:sqs:r:a:jobs` -> `jobs`)."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def arn_service(value: str) -> str:
    parts = value.split(":")
    return parts[2] if value.startswith("arn:") and len(parts) > 2 else ""


def key_filter(spec: Any, res: Res, where: str, s3_api: bool = False) -> tuple[str, str]:
    """An S3 key filter as (prefix, suffix): CloudFormation's `S3Key.Rules`, or the S3 API's
    `Key.FilterRules` that CDK's custom notifications carry."""
    spec = checks.mapping(spec, res.name, where)
    outer, inner = ("Key", "FilterRules") if s3_api else ("S3Key", "Rules")
    rules = checks.listing(checks.mapping(spec.get(outer), res.name, f"{where}.{outer}").get(inner), res.name,
                           f"{where}.{outer}.{inner}")
    found = {str(checks.mapping(r, res.name, where).get("Name", "")).lower(): str(r.get("Value", "")) for r in rules}
    unknown = set(found) - {"prefix", "suffix"}
    if unknown:
        raise TemplateError(res.name, res.prop_path(where), f"rule names {sorted(unknown)}: S3 takes prefix and suffix")
    return found.get("prefix", ""), found.get("suffix", "")


def build_queue(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    redrive = p.get("RedrivePolicy") or {}
    if isinstance(redrive, str):  # CloudFormation also takes the policy as JSON text
        try:
            redrive = json.loads(redrive)
        except ValueError:
            raise TemplateError(name, "RedrivePolicy", "is not a JSON object") from None
    redrive = checks.mapping(redrive, name, "RedrivePolicy")
    target = checks.optional_string(redrive.get("deadLetterTargetArn"), name, "RedrivePolicy.deadLetterTargetArn")
    fifo = checks.boolean(p.get("FifoQueue"), name, "FifoQueue", default=False)
    if fifo:
        scope.load.finding(res, "FifoQueue", "FIFO ordering and deduplication are not emulated; messages are "
                                             "delivered as by a standard queue")
    if p.get("DelaySeconds"):
        scope.load.finding(res, "DelaySeconds", "a queue's default delay is not applied; messages are delivered "
                                                "at once unless the sender gives DelaySeconds")
    scope.load.queues[res.physical] = Queue(
        name=res.physical,
        logical_id=res.name,
        visibility_timeout=checks.integer(p.get("VisibilityTimeout"), name, "VisibilityTimeout",
                                          default=config.VISIBILITY_TIMEOUT),
        dead_letter_queue=arn_name(target) if target else None,
        max_receive_count=checks.optional_integer(redrive.get("maxReceiveCount"), name,
                                                  "RedrivePolicy.maxReceiveCount"),
        fifo=fifo,
    )


# CloudFormation's CorsRule property names -> the S3 API's (what put_bucket_cors takes).
_CORS_FIELDS = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods",
                "AllowedOrigins": "AllowedOrigins", "ExposedHeaders": "ExposeHeaders", "Id": "ID",
                "MaxAge": "MaxAgeSeconds"}
_BUCKET_NOT_EMULATED = {
    "VersioningConfiguration": "objects are not versioned",
    "WebsiteConfiguration": "the bucket is not served as a website",
    "ReplicationConfiguration": "objects are not replicated",
    "ObjectLockConfiguration": "object locks are not enforced",
}


def build_bucket(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    rules = []
    for i, rule in enumerate(checks.listing(checks.mapping(p.get("CorsConfiguration"), name, "CorsConfiguration")
                                            .get("CorsRules"), name, "CorsConfiguration.CorsRules")):
        out = {_CORS_FIELDS[k]: v for k, v in checks.mapping(rule, name, f"CorsRules[{i}]").items()
               if k in _CORS_FIELDS}
        if "MaxAgeSeconds" in out:
            out["MaxAgeSeconds"] = checks.integer(out["MaxAgeSeconds"], name, f"CorsRules[{i}].MaxAge")
        rules.append(out)
    for prop, what in _BUCKET_NOT_EMULATED.items():
        if prop in p:
            scope.load.finding(res, prop, f"{what} locally")
    notifications = checks.mapping(p.get("NotificationConfiguration"), name, "NotificationConfiguration")
    for i, entry in enumerate(checks.listing(notifications.get("LambdaConfigurations"), name,
                                             "NotificationConfiguration.LambdaConfigurations")):
        where = f"NotificationConfiguration.LambdaConfigurations[{i}]"
        entry = checks.mapping(entry, name, where)
        event = checks.string(entry.get("Event"), name, f"{where}.Event")
        prefix, suffix = key_filter(entry.get("Filter"), res, f"{where}.Filter")
        function = checks.string(entry.get("Function"), name, f"{where}.Function")
        owner = Res(res.logical_id, res.type, res.name, res.user_type, None, {}, {}, res.physical)
        event_name = _s3_event_name(scope, function, event, prefix, suffix) or (
            res.logical_id if i == 0 else f"{res.logical_id}-{i}")
        trig = S3Trigger(res.physical, (event,), prefix, suffix, event_name)
        scope.load.triggers.append(PendingTrigger(function, trig, owner, f"{where}.Function"))
    for i, entry in enumerate(checks.listing(notifications.get("QueueConfigurations"), name,
                                             "NotificationConfiguration.QueueConfigurations")):
        where = f"NotificationConfiguration.QueueConfigurations[{i}]"
        entry = checks.mapping(entry, name, where)
        queue = checks.string(entry.get("Queue"), name, f"{where}.Queue")
        if arn_service(queue) != "sqs":
            raise TemplateError(name, f"{where}.Queue", "must be a queue ARN (!GetAtt Queue.Arn)")
        event = checks.string(entry.get("Event"), name, f"{where}.Event")
        prefix, suffix = key_filter(entry.get("Filter"), res, f"{where}.Filter")
        note = QueueNotification(arn_name(queue), (event,), prefix, suffix)
        scope.load.bucket_queue_notifications.setdefault(res.physical, []).append((note, res))
    topics = []
    for i, entry in enumerate(checks.listing(notifications.get("TopicConfigurations"), name,
                                             "NotificationConfiguration.TopicConfigurations")):
        where = f"NotificationConfiguration.TopicConfigurations[{i}]"
        entry = checks.mapping(entry, name, where)
        topic = checks.string(entry.get("Topic"), name, f"{where}.Topic")
        prefix, suffix = key_filter(entry.get("Filter"), res, f"{where}.Filter")
        topics.append(TopicNotification(topic, (checks.string(entry.get("Event"), name, f"{where}.Event"),),
                                        prefix, suffix))
    if notifications.get("EventBridgeConfiguration"):
        scope.load.finding(res, "NotificationConfiguration.EventBridgeConfiguration",
                           "bucket events are not sent to EventBridge")
    scope.load.buckets[res.physical] = Bucket(res.physical, res.name, tuple(rules), topic_notifications=tuple(topics))


def _s3_event_name(scope: Scope, function: str, event: str, prefix: str, suffix: str) -> str | None:
    """The SAM S3 event this bucket notification was made for (SAM adds it to the bucket)."""
    for fn_id, events in scope.sam_s3_events().items():
        if function.endswith(f":function:{fn_id}") or function == fn_id or arn_name(function) == fn_id:
            for name, (kinds, pre, suf) in events.items():
                if event in kinds and (pre, suf) == (prefix, suffix):
                    return str(name)
    return None


def build_custom_s3_notifications(scope: Scope, res: Res) -> None:
    """CDK writes a bucket's notifications as this custom resource, in the S3 API's shape."""
    p, name = res.props, res.name
    bucket = checks.string(p.get("BucketName"), name, "BucketName")
    config_ = checks.mapping(p.get("NotificationConfiguration"), name, "NotificationConfiguration")
    for i, entry in enumerate(checks.listing(config_.get("QueueConfigurations"), name, "QueueConfigurations")):
        where = f"NotificationConfiguration.QueueConfigurations[{i}]"
        entry = checks.mapping(entry, name, where)
        prefix, suffix = key_filter(entry.get("Filter"), res, f"{where}.Filter", s3_api=True)
        note = QueueNotification(arn_name(checks.string(entry.get("QueueArn"), name, f"{where}.QueueArn")),
                                 tuple(checks.strings(entry.get("Events"), name, f"{where}.Events")), prefix, suffix)
        scope.load.bucket_queue_notifications.setdefault(bucket, []).append((note, res))
    for i, entry in enumerate(checks.listing(config_.get("LambdaFunctionConfigurations"), name,
                                             "LambdaFunctionConfigurations")):
        where = f"NotificationConfiguration.LambdaFunctionConfigurations[{i}]"
        entry = checks.mapping(entry, name, where)
        prefix, suffix = key_filter(entry.get("Filter"), res, f"{where}.Filter", s3_api=True)
        events = tuple(checks.strings(entry.get("Events"), name, f"{where}.Events"))
        function = checks.string(entry.get("LambdaFunctionArn"), name, f"{where}.LambdaFunctionArn")
        trig = S3Trigger(bucket, events, prefix, suffix, f"{res.logical_id}:{i}")
        scope.load.triggers.append(PendingTrigger(function, trig, res, f"{where}.LambdaFunctionArn"))
    if config_.get("TopicConfigurations"):
        scope.load.finding(res, "NotificationConfiguration.TopicConfigurations",
                           "notifications to SNS topics are not sent")


_STREAM_SOURCES = {"dynamodb": "DynamoDB stream records", "kinesis": "Kinesis records", "kafka": "Kafka records",
                   "mq": "Amazon MQ messages", "rds": "DocumentDB change events"}


def build_event_source_mapping(scope: Scope, res: Res) -> None:
    p, name = res.props, res.name
    source = checks.string(p.get("EventSourceArn"), name, "EventSourceArn", default="")
    function = checks.string(p.get("FunctionName"), name, "FunctionName")
    service = arn_service(source)
    if service in ("dynamodb", "kinesis"):
        mappings.build_stream_mapping(scope, res, service, function)
        return
    if service != "sqs":
        what = _STREAM_SOURCES.get(service, f"events from {source or 'this source'}")
        scope.load.finding(res, "", f"this event source mapping is not emulated yet: {what} do not reach "
                                    f"{arn_name(function)}")
        return
    queue = arn_name(source)
    scaling = checks.mapping(p.get("ScalingConfig"), name, "ScalingConfig").get("MaximumConcurrency")
    types = checks.strings(p.get("FunctionResponseTypes"), name, "FunctionResponseTypes")
    trig = SqsTrigger(
        queue=queue,
        batch_size=checks.integer(p.get("BatchSize"), name, "BatchSize", default=config.SQS_BATCH_SIZE),
        report_batch_item_failures="ReportBatchItemFailures" in types,
        enabled=checks.boolean(p.get("Enabled"), name, "Enabled", default=True),
        event_name=_event_name(res),
        maximum_batching_window=checks.integer(p.get("MaximumBatchingWindowInSeconds"), name,
                                               "MaximumBatchingWindowInSeconds", default=0),
        filter_criteria=mappings.filters(p, name),
        maximum_concurrency=checks.integer(scaling, name, "ScalingConfig.MaximumConcurrency", default=0),
    )
    scope.load.triggers.append(PendingTrigger(function, trig, res, "FunctionName"))


def _event_name(res: Res) -> str:
    """The SAM event a trigger came from, else its resource's name (the construct id, for CDK)."""
    return res.event or res.name.rsplit("/", 1)[-1]
