"""Bucket event records in AWS's shape, and their delivery to the functions whose S3 trigger matches."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from local.broker import Broker, new_message
from local.model import S3Trigger

log = logging.getLogger(__name__)


def aws_key(raw: str) -> str:
    """AWS form-encodes keys in events but keeps '/'; moto and MinIO also encode '/' as %2F."""
    return quote_plus(unquote_plus(raw), safe="/")


def normalize(record: dict[str, Any], region: str) -> dict[str, Any]:
    """Turn a MinIO or moto record into the record S3 itself would send."""
    s3 = record.get("s3") or {}
    bucket = s3.get("bucket") or {}
    obj = s3.get("object") or {}
    name = str(record.get("eventName", "")).removeprefix("s3:")  # MinIO prefixes "s3:", AWS does not
    out_obj: dict[str, Any] = {"key": aws_key(str(obj.get("key", "")))}
    if name.startswith("ObjectCreated"):
        out_obj.update(size=int(obj.get("size") or 0), eTag=str(obj.get("eTag", "")).strip('"'))
    out_obj["sequencer"] = str(obj.get("sequencer") or f"{int(datetime.now(UTC).timestamp() * 1e6):X}")
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": record.get("awsRegion") or region,
        "eventTime": record.get("eventTime") or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "eventName": name,
        "userIdentity": {"principalId": str((record.get("userIdentity") or {}).get("principalId", "local"))},
        "requestParameters": {"sourceIPAddress": str((record.get("requestParameters") or {}).get("sourceIPAddress",
                                                                                                  "127.0.0.1"))},
        "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": str(s3.get("configurationId", "lightbox")),
            "bucket": {"name": bucket.get("name", ""), "ownerIdentity": {"principalId": "local"},
                       "arn": f"arn:aws:s3:::{bucket.get('name', '')}"},
            "object": out_obj,
        },
    }


def deliver(broker: Broker, records: list[dict[str, Any]]) -> int:
    """Queue one asynchronous invoke per (record, matching function) and one message per (record,
    matching bucket -> queue notification), as S3 does; return how many."""
    count = 0
    for raw in records:
        record = normalize(raw, broker.template.region)
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        for fn in broker.template.functions.values():
            for trig in fn.of_kind(S3Trigger):
                if trig.bucket == bucket and trig.matches(record["eventName"], key):
                    broker.invoke_async(fn.name, {"Records": [record]}, f"s3:{bucket}/{key}")
                    count += 1
        target = broker.template.buckets.get(bucket)
        for note in target.queue_notifications if target else ():
            if note.matches(record["eventName"], key):
                broker.send(note.queue, [new_message(json.dumps({"Records": [record]}))])
                count += 1
        log.debug("bucket event %s %s/%s", record["eventName"], bucket, key)
    return count
