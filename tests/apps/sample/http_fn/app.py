from __future__ import annotations

import base64
import json
import os
import time

import boto3

CALLS = {"count": 0}  # module state: stays warm between invocations


def handler(event, context):
    route = event["routeKey"]
    CALLS["count"] += 1
    if route == "GET /hello/{name}":
        name = event["pathParameters"]["name"]
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "cookies": ["seen=1; Path=/"],
                "body": json.dumps({"message": f"{os.environ['GREETING']}, {name}", "calls": CALLS["count"],
                                    "query": event.get("queryStringParameters"),
                                    "request_id": context.aws_request_id,
                                    "remaining_ms": context.get_remaining_time_in_millis()})}
    if route == "POST /echo":
        raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
        return {"statusCode": 201, "headers": {"content-type": "application/octet-stream"},
                "isBase64Encoded": True, "body": base64.b64encode(raw[::-1]).decode()}
    if route == "ANY /files/{proxy+}":
        return {"method": event["requestContext"]["http"]["method"], "proxy": event["pathParameters"]["proxy"]}
    if route == "GET /stream":
        def chunks():
            for i in range(3):
                yield f"data: {i}\n\n"
                time.sleep(0.05)
            yield f"data: {os.environ.get('GREETING')}\n\n"  # the function's environment while it streams
        return {"statusCode": 200, "headers": {"content-type": "text/event-stream"}, "body": chunks()}
    if route == "POST /send":
        sqs = boto3.client("sqs")
        bodies = json.loads(event["body"])["messages"]
        if len(bodies) == 1:
            sqs.send_message(QueueUrl=os.environ["WORK_QUEUE_URL"], MessageBody=bodies[0])
        else:
            sqs.send_message_batch(QueueUrl=os.environ["WORK_QUEUE_URL"],
                                   Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])
        return {"sent": len(bodies)}
    if route == "GET /env":
        return {"greeting": os.environ.get("GREETING"), "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME")}
    return {"statusCode": 404, "body": "unknown route"}


def slow(event, context):
    if event["path"] == "/boom":
        raise ValueError("boom: the handler raised on purpose")
    time.sleep(3)
    return {"statusCode": 200, "body": "too late"}
