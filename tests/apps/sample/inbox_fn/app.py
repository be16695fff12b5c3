from __future__ import annotations

import json

from samplelib import record


def handler(event, context):
    # S3 -> SQS -> Lambda: each SQS message body is an S3 event with one record.
    for msg in event["Records"]:
        [rec] = json.loads(msg["body"])["Records"]
        record("inbox", {"source": msg["eventSourceARN"], "eventName": rec["eventName"],
                         "bucket": rec["s3"]["bucket"]["name"], "key": rec["s3"]["object"]["key"],
                         "size": rec["s3"]["object"]["size"]})
