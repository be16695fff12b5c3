"""SNS topics and subscriptions, Kinesis streams and EventBridge buses on the embedded services.

Subscriptions are created (so ListSubscriptions and GetSubscriptionAttributes answer as on AWS);
delivering what is published to them is the SNS event source's work, not this module's.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

# Topic properties that are CreateTopic attributes, by the same name.
_TOPIC_ATTRIBUTES = ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId",
                     "SignatureVersion", "TracingConfig", "ArchivePolicy", "FifoThroughputScope")
# Subscription properties that are Subscribe attributes; the JSON ones are given as objects.
_SUBSCRIPTION_ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy",
                            "DeliveryPolicy", "SubscriptionRoleArn", "ReplayPolicy")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def topic(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    attributes = {k: _text(props[k]) for k in _TOPIC_ATTRIBUTES if k in props}
    existing = {t["TopicArn"] for t in _all_topics(client)}
    arn: str = client.create_topic(Name=name, Attributes=attributes)["TopicArn"]  # idempotent
    for sub in props.get("Subscription") or []:
        subscribe(client, arn, sub)
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}, arn not in existing


def subscribe(client: Any, topic_arn: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """One subscription (an AWS::SNS::Subscription, or an entry of a topic's Subscription list)."""
    for sub in client.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]:
        if sub["Protocol"] == props.get("Protocol") and sub["Endpoint"] == props.get("Endpoint"):
            return {"Ref": sub["SubscriptionArn"]}, False
    attributes = {k: _text(props[k]) for k in _SUBSCRIPTION_ATTRIBUTES if k in props}
    arn = client.subscribe(TopicArn=topic_arn, Protocol=props["Protocol"], Endpoint=props["Endpoint"],
                           Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"]
    return {"Ref": arn}, True


def _all_topics(client: Any) -> list[dict[str, Any]]:
    return [t for page in client.get_paginator("list_topics").paginate() for t in page["Topics"]]


def stream(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    created = False
    try:
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        mode = (props.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        args: dict[str, Any] = {"StreamName": name, "StreamModeDetails": {"StreamMode": mode}}
        if mode == "PROVISIONED":
            args["ShardCount"] = int(props.get("ShardCount", 1))  # CloudFormation's default
        client.create_stream(**args)
        hours = int(props.get("RetentionPeriodHours", 24))
        if hours > 24:
            client.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=hours)
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        created = True
    return {"Ref": name, "Arn": summary["StreamARN"]}, created


def event_bus(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    created = False
    try:
        bus = client.describe_event_bus(Name=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        args: dict[str, Any] = {"Name": name}
        if props.get("Description"):
            args["Description"] = props["Description"]
        client.create_event_bus(**args)
        bus = client.describe_event_bus(Name=name)
        created = True
    return {"Ref": name, "Arn": bus["Arn"], "Name": name}, created
