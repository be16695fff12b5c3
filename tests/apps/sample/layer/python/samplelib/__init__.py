"""Shared code of the sample app, loaded from its layer's python/ folder as Lambda does."""

from __future__ import annotations

import json
import os

import redis

_client: redis.Redis | None = None


def record(kind: str, payload: object) -> None:
    """Append what a function saw to a Redis list, so tests can assert on it from outside."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["REDIS_URL"])
    _client.rpush(f"sample:{kind}", json.dumps(payload))
