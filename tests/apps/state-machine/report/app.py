"""Records the event its schedule sent."""

from __future__ import annotations

import json
import os

import redis


def handler(event, context):
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush("apps:state-machine", json.dumps(event))
    return {"reported": True}
