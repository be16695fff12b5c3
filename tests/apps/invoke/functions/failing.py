import os
import time

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


class OrderRejected(Exception):
    pass


def handler(event, context):
    # Count every attempt, so a test can see Lambda's retries.
    _redis.rpush(f"invoke:attempts:{os.environ['AWS_LAMBDA_FUNCTION_NAME']}:{event.get('id')}", context.aws_request_id)
    raise OrderRejected(f"order {event.get('id')} rejected")


def maybe(event, context):
    if event.get("fail"):
        return handler(event, context)
    return {"fine": event.get("id")}


def slow(event, context):
    time.sleep(1.2)
    return handler(event, context)
