"""POST /send/{to}: sends the request body to the orders or billing child's queue."""

from __future__ import annotations

import json
import os

import boto3


def handler(event, context):
    to = event["pathParameters"]["to"]
    url = os.environ[f"{to.upper()}_QUEUE_URL"]
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody=event.get("body") or "")
    return {"statusCode": 202, "body": json.dumps({"sent_to": url})}
