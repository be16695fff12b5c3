"""The API and the ticker of a small CDK app (bundled by `cdk synth` into this asset folder)."""

from __future__ import annotations

import json
import os

import redis
from cdklib import GREETING


def api(event, context):
    body = {"greeting": GREETING, "path": event["path"], "table": os.environ["TABLE"],
            "queue": os.environ["JOBS_QUEUE_URL"]}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def tick(event, context):
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush("apps:cdk", json.dumps({"tick": event}))
