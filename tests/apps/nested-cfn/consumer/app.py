"""Records the key of every object the child stack's bucket announced on its queue."""

from __future__ import annotations

import json
import os

import redis


def handler(event, context):
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for record in event["Records"]:
        for s3 in json.loads(record["body"])["Records"]:
            client.rpush("apps:nested-cfn", json.dumps({"bucket": os.environ["BUCKET"],
                                                        "key": s3["s3"]["object"]["key"]}))
