"""Event factories in AWS's shapes (what `sam local generate-event` prints), for tests and the CLI."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from local import defaults
from local.apigw import HttpRequest, Match, build_event
from local.broker import new_message
from local.model import Function, HttpRoute
from local.schedule import scheduled_event
from local.sources.s3_events import normalize


def s3_put_event(bucket: str, key: str, size: int = 1024, etag: str | None = None,
                 event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    raw = {"eventName": event_name, "s3": {"bucket": {"name": bucket},
                                           "object": {"key": key, "size": size,
                                                      "eTag": etag or hashlib.md5(key.encode()).hexdigest()}}}
    return {"Records": [normalize(raw, defaults.REGION)]}


def sqs_event(*bodies: str | dict[str, Any], queue: str = "my-queue") -> dict[str, Any]:
    now = str(int(datetime.now(UTC).timestamp() * 1000))
    records = []
    for body in bodies:
        msg = new_message(body if isinstance(body, str) else json.dumps(body))
        rec = {
            "messageId": msg["messageId"],
            "receiptHandle": f"{msg['messageId']}#1",
            "body": msg["body"],
            "attributes": {**msg["attributes"], "ApproximateReceiveCount": "1",
                           "ApproximateFirstReceiveTimestamp": now},
            "messageAttributes": {},
            "md5OfBody": msg["md5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{defaults.REGION}:{defaults.ACCOUNT_ID}:{queue}",
            "awsRegion": defaults.REGION,
        }
        records.append(rec)
    return {"Records": records}


def http_event(method: str, path: str, body: str | bytes | dict[str, Any] | None = None,
               headers: dict[str, str] | None = None, path_parameters: dict[str, str] | None = None,
               query: dict[str, str] | None = None, route: str | None = None,
               payload_version: str = "2.0") -> dict[str, Any]:
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        hdrs.setdefault("content-type", "application/json")
    raw = body.encode() if isinstance(body, str) else (body or b"")
    qs = urlencode(query or {})
    req = HttpRequest(method.upper(), path, qs, list(hdrs.items()), list((query or {}).items()), raw,
                      "127.0.0.1", f"{defaults.HOST}:{defaults.PORT}")
    r = HttpRoute(method.upper(), route or path, payload_version, "Api")
    fn = Function("fn", "app.handler", Path("."), "python3.11", 3, 128, {}, [])
    return build_event(req, Match(fn, r, dict(path_parameters or {})), defaults.REGION, defaults.ACCOUNT_ID)


def schedule_event(rule: str = "my-schedule") -> dict[str, Any]:
    arn = f"arn:aws:events:{defaults.REGION}:{defaults.ACCOUNT_ID}:rule/{rule}"
    return scheduled_event(arn, defaults.REGION, defaults.ACCOUNT_ID, datetime.now(UTC))

