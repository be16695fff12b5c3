from __future__ import annotations

from samplelib import record


def handler(event, context):
    for rec in event["Records"]:
        record("s3", {"eventName": rec["eventName"], "bucket": rec["s3"]["bucket"]["name"],
                      "key": rec["s3"]["object"]["key"], "size": rec["s3"]["object"].get("size")})
