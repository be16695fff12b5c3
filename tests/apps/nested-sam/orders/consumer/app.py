"""Records each message with the greeting and stack name its copy of the child was given."""

from __future__ import annotations

import json
import os

import redis


def handler(event, context):
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    for record in event["Records"]:
        client.rpush("apps:nested-sam", json.dumps({"body": record["body"], "greeting": os.environ["GREETING"],
                                                    "stack": os.environ["STACK_NAME"],
                                                    "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}))
