"""A server-sent events body, produced as the client reads it."""

import os


def events(count):
    for i in range(count):
        yield f"data: {i} from {os.getpid()}\n\n"


def handler(event, context):
    count = int((event.get("queryStringParameters") or {}).get("count", "3"))
    return {"statusCode": 200, "headers": {"content-type": "text/event-stream"}, "body": events(count)}
