"""Answers with the event it got, so tests see what API Gateway built; `?mode=` makes it misbehave."""

from __future__ import annotations

import base64
import json
import os
import time

import redis


def echo(event, context):
    mode = ((event.get("queryStringParameters") or {}).get("mode") or "")
    if mode == "raise":
        raise ValueError("the handler raised on purpose")
    if mode == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}  # both API types refuse a non-string body
    if mode == "trace":  # the X-Ray trace id Lambda gives the invocation
        return {"statusCode": 200, "body": json.dumps({"trace": os.environ.get("_X_AMZN_TRACE_ID")})}
    if mode == "sleep":
        time.sleep(3)
    if mode == "binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()}
    if mode == "headers":
        return {"statusCode": 200, "body": "{}", "headers": {"X-One": "a", "X-Both": "single"},
                "multiValueHeaders": {"X-Both": ["m1", "m2"], "X-Many": ["1", "2"]}}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}


def consume(event, context):
    """The queue's function: what an SQS integration sent reaches it."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for record in event["Records"]:
        client.rpush("apigw:sqs", record["body"])
    return {"batchItemFailures": []}
