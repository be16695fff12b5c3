"""Event factories for tests, in AWS's shapes: the emulator's own builders, so the two never differ."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from lightbox import config
from lightbox.apigateway.events import http_event
from lightbox.eventbridge.bus import bus_event
from lightbox.eventbridge.schedule import schedule_event
from lightbox.s3.records import s3_put_event
from lightbox.sns.notifications import Published, lambda_event, subscription_arn
from lightbox.sqs.messages import sqs_event

__all__ = ["dynamodb_update_event", "eventbridge_event", "function_url_event", "http_event", "kinesis_event",
           "s3_put_event", "schedule_event", "sns_event", "sqs_event"]

_ARN = f"{config.REGION}:{config.ACCOUNT_ID}"


def sns_event(message: str = "Hello from SNS!", topic: str = "sns-lambda", subject: str | None = "TestInvoke",
              attributes: dict[str, str] | None = None) -> dict[str, Any]:
    """An SNS notification as a subscribed function gets it."""
    now = datetime.now(UTC)
    arn = f"arn:aws:sns:{_ARN}:{topic}"
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    p = Published(arn, str(uuid.uuid4()), message, stamp, subject,
                  {k: {"Type": "String", "Value": v} for k, v in (attributes or {}).items()} or None)
    return lambda_event(p, subscription_arn(arn, "sample"))


def eventbridge_event(source: str = "com.mycompany.myapp", detail_type: str = "myDetailType",
                      detail: dict[str, Any] | None = None, resources: list[str] | None = None) -> dict[str, Any]:
    """A custom event as a rule's function target gets it."""
    entry = {"EventId": str(uuid.uuid4()), "Source": source, "DetailType": detail_type,
             "Detail": json.dumps(detail or {"key1": "value1"}), "Resources": resources or [],
             "Time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return bus_event(entry, config.REGION, config.ACCOUNT_ID)


def dynamodb_update_event(table: str = "ExampleTableWithStream") -> dict[str, Any]:
    """A DynamoDB stream batch as SAM's `dynamodb update` sample has it: an INSERT, a MODIFY, a REMOVE."""
    stream = f"arn:aws:dynamodb:{_ARN}:table/{table}/stream/2015-06-27T00:48:05.899"
    keys = {"Id": {"N": "101"}}
    new = {"Message": {"S": "New item!"}, "Id": {"N": "101"}}
    changed = {"Message": {"S": "This item has changed"}, "Id": {"N": "101"}}
    records = []
    for i, (name, images) in enumerate([("INSERT", {"NewImage": new}),
                                        ("MODIFY", {"OldImage": new, "NewImage": changed}),
                                        ("REMOVE", {"OldImage": changed})]):
        records.append({
            "eventID": str(i + 1), "eventName": name, "eventVersion": "1.0", "eventSource": "aws:dynamodb",
            "awsRegion": config.REGION, "eventSourceARN": stream,
            "dynamodb": {"ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()), "Keys": keys, **images,
                         "SequenceNumber": str(111 + i * 111), "SizeBytes": 26 + i * 33,
                         "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })
    return {"Records": records}


def kinesis_event(data: str = "Hello, this is a test.", stream: str = "example-stream",
                  partition_key: str = "partitionKey-03") -> dict[str, Any]:
    """A Kinesis batch as SAM's `kinesis get-records` sample has it (the data base64-encoded)."""
    sequence = "49545115243490985018280067714973144582180062593244200961"
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": sequence,
                    "data": base64.b64encode(data.encode()).decode(),
                    "approximateArrivalTimestamp": datetime.now(UTC).timestamp()},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{sequence}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": f"arn:aws:iam::{config.ACCOUNT_ID}:role/lambda-role",
        "awsRegion": config.REGION, "eventSourceARN": f"arn:aws:kinesis:{_ARN}:stream/{stream}",
    }]}


def function_url_event(method: str = "GET", path: str = "/", body: str | None = None) -> dict[str, Any]:
    """A function URL request (payload 2.0; the URL's id where an HTTP API has its API id)."""
    event = http_event(method, path, body=body)
    url_id = "abcdefghijklmnopqrstuvwxyz0123456"[:32]
    ctx = event["requestContext"]
    ctx.update({"apiId": url_id, "domainName": f"{url_id}.lambda-url.{config.REGION}.on.aws",
                "domainPrefix": url_id, "routeKey": "$default", "stage": "$default"})
    ctx.pop("authorizer", None)
    event.update({"routeKey": "$default"})
    event.pop("pathParameters", None)
    event.pop("stageVariables", None)
    return event

