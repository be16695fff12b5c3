"""`lightbox event generate KIND`: sample events in the shapes `sam local generate-event` gives, built
by the emulator's own builders (testing/events.py), so a sample and a delivery never differ.

SAM's names are accepted too (`sns-notification`, `cloudwatch-scheduled-event`, `dynamodb-update`,
`kinesis-get-records`, `sqs-receive-message`, `apigateway-aws-proxy`, `apigateway-http-api-proxy`).
The builders are imported when an event is generated: building the CLI's parser stays cheap.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

KINDS = ("s3-put", "sqs", "http", "apigateway-aws-proxy", "http-api-proxy", "function-url", "schedule", "sns",
         "eventbridge", "dynamodb-update", "kinesis")
ALIASES = {"sns-notification": "sns", "cloudwatch-scheduled-event": "schedule", "sqs-receive-message": "sqs",
           "kinesis-get-records": "kinesis", "apigateway-http-api-proxy": "http-api-proxy",
           "eventbridge-custom": "eventbridge", "lambda-function-url": "function-url"}


def add_arguments(ev: argparse.ArgumentParser) -> None:
    ev.add_argument("kind", choices=[*KINDS, *ALIASES])
    ev.add_argument("--bucket", default="example-bucket")
    ev.add_argument("--key", default="test/key.jpg")
    ev.add_argument("--size", type=int, default=1024)
    ev.add_argument("--queue", default="my-queue")
    ev.add_argument("--method", default="GET")
    ev.add_argument("--path", default="/")
    ev.add_argument("--body", action="append", help="message, record data or request body (repeat for several)")
    ev.add_argument("--topic", default="sns-lambda")
    ev.add_argument("--source", default="com.mycompany.myapp")
    ev.add_argument("--detail-type", default="myDetailType")
    ev.add_argument("--detail", help="an EventBridge event's detail, JSON")
    ev.add_argument("--table", default="ExampleTableWithStream")
    ev.add_argument("--stream", default="example-stream")


def generate(a: argparse.Namespace) -> dict[str, Any]:
    from lightbox.testing import events as e

    body = a.body[0] if a.body else None
    kind = ALIASES.get(a.kind, a.kind)
    if kind == "s3-put":
        return e.s3_put_event(a.bucket, a.key, size=a.size)
    if kind == "sqs":
        return e.sqs_event(*(a.body or ["{}"]), queue=a.queue)
    if kind in ("http", "http-api-proxy", "apigateway-aws-proxy"):
        return e.http_event(a.method, a.path, body=body,
                            payload_version="1.0" if kind == "apigateway-aws-proxy" else "2.0")
    if kind == "function-url":
        return e.function_url_event(a.method, a.path, body)
    if kind == "sns":
        return e.sns_event(body or "Hello from SNS!", a.topic)
    if kind == "eventbridge":
        return e.eventbridge_event(a.source, a.detail_type, json.loads(a.detail) if a.detail else None)
    if kind == "dynamodb-update":
        return e.dynamodb_update_event(a.table)
    if kind == "kinesis":
        return e.kinesis_event(body or "Hello, this is a test.", a.stream)
    return e.schedule_event()
