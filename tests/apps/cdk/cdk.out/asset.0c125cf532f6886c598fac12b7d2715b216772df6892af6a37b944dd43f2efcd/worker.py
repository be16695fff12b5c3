"""The nested stack's queue worker: records each S3 event the bucket sent to its queue."""

from __future__ import annotations

import json
import os

import redis
from cdklib import GREETING


def handler(event, context):
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for record in event["Records"]:
        client.rpush("apps:cdk", json.dumps({"worker": json.loads(record["body"]), "greeting": GREETING}))
    return {"batchItemFailures": []}
