"""Bucket event records in the shape S3 itself sends, whatever produced them (moto, MinIO)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from lightbox import config


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


def s3_put_event(bucket: str, key: str, size: int = 1024, etag: str | None = None,
                 event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """An S3 event as `sam local generate-event s3 put` gives it, for tests and the CLI."""
    raw = {"eventName": event_name, "s3": {"bucket": {"name": bucket},
                                           "object": {"key": key, "size": size,
                                                      "eTag": etag or hashlib.md5(key.encode()).hexdigest()}}}
    return {"Records": [normalize(raw, config.REGION)]}
