import json
import os

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def handler(event, context):
    if "Records" in event:  # from a destination queue: the whole SQS record, to check its shape
        for rec in event["Records"]:
            _redis.rpush("invoke:recorded", json.dumps({"queue": rec["eventSourceARN"].rsplit(":", 1)[1],
                                                         "record": rec}))
    else:  # a Lambda destination's invocation record
        _redis.rpush("invoke:recorded", json.dumps({"queue": "lambda", "event": event}))
