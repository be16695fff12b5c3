"""A server-sent events body, produced as the client reads it; `forever` streams until the client
leaves, and writes a file when its generator is closed."""

import os
import time


def events(count, closed_file):
    try:
        i = 0
        while count is None or i < count:
            yield f"data: {i} from {os.getpid()}\n\n"
            i += 1
            if count is None:
                time.sleep(0.05)
    finally:
        if closed_file:
            with open(closed_file, "w") as f:
                f.write("closed")


def handler(event, context):
    query = event.get("queryStringParameters") or {}
    count = None if query.get("forever") else int(query.get("count", "3"))
    return {"statusCode": 200, "headers": {"content-type": "text/event-stream"},
            "body": events(count, query.get("closed_file"))}
