"""Each handler records the event it got (a test's only view of a trigger), then answers as Lambda's
event source mappings expect."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def _record(key: str, event: dict[str, Any]) -> None:
    _redis.rpush(f"streams:{key}", json.dumps({"event": event, "at": time.time()}))


def items(event: dict[str, Any], context: Any) -> None:
    _record("items", event)
    for record in event["Records"]:
        if "poison" in record["dynamodb"].get("NewImage", {}):
            raise ValueError(f"cannot handle {record['dynamodb']['Keys']}")


def failures(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        _record("failures", json.loads(record["body"]))


def clicks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("clicks", event)
    failed = []
    for record in event["Records"]:
        if json.loads(base64.b64decode(record["kinesis"]["data"])).get("fail") and \
                _redis.incr(f"streams:tries:{record['kinesis']['sequenceNumber']}") == 1:
            failed.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failed}


def orders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record("orders", event)
    failed = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if json.loads(r["body"]).get("fail")]
    return {"batchItemFailures": failed}


def paused(event: dict[str, Any], context: Any) -> None:
    _record("paused", event)
