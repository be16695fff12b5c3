"""bench_sqs_start.py's queue handler: its first line takes the time; the send time is in the body."""

import json
import os
import time

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def record(event, context):
    started_ns = time.time_ns()
    body = json.loads(event["Records"][0]["body"])
    _redis.rpush("bench:started", json.dumps({"id": body["id"], "sent_ns": body["sent_ns"], "started_ns": started_ns}))
