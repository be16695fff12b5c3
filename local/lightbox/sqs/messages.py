"""SQS messages: as SendMessage takes them, and as Lambda's event source mapping hands them over."""

from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from lightbox import config


def new_message(body: str, attributes: dict[str, Any] | None = None, group_id: str | None = None) -> dict[str, Any]:
    """An SQS message as the Lambda event source mapping will hand it to the function."""
    now = str(int(time.time() * 1000))
    msg: dict[str, Any] = {
        "messageId": str(uuid.uuid4()),
        "body": body,
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "messageAttributes": attributes or {},
        "attributes": {"SentTimestamp": now, "SenderId": config.ACCOUNT_ID},
    }
    if group_id:
        msg["attributes"]["MessageGroupId"] = group_id
    return msg


def attributes_md5(attributes: dict[str, Any]) -> str:
    """MD5OfMessageAttributes, computed as SQS documents it, so SDKs that check it agree."""
    md5 = hashlib.md5(usedforsecurity=False)  # SQS checksum

    def put(value: bytes) -> None:
        md5.update(struct.pack("!I", len(value)))
        md5.update(value)

    for name in sorted(attributes):
        attr = attributes[name]
        put(name.encode())
        put(attr["DataType"].encode())
        if "StringValue" in attr:
            md5.update(b"\x01")
            put(attr["StringValue"].encode())
        elif "BinaryValue" in attr:
            md5.update(b"\x02")
            value = attr["BinaryValue"]
            put(value if isinstance(value, bytes) else value.encode())
    return md5.hexdigest()


def lambda_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Lambda's SQS event spells message attributes in camelCase."""
    out = {}
    for name, attr in attributes.items():
        out[name] = {"dataType": attr["DataType"], "stringValue": attr.get("StringValue"),
                     "binaryValue": attr.get("BinaryValue"), "stringListValues": [], "binaryListValues": []}
    return out


def lambda_record(msg: dict[str, Any], queue: str, receive_count: int, first_receive: str,
                  region: str = config.REGION, account_id: str = config.ACCOUNT_ID) -> dict[str, Any]:
    """One record of the event Lambda's SQS event source mapping gives the function."""
    return {
        "messageId": msg["messageId"],
        "receiptHandle": f"{msg['messageId']}#{receive_count}",
        "body": msg["body"],
        "attributes": {
            **msg.get("attributes", {}),
            "ApproximateReceiveCount": str(receive_count),
            "ApproximateFirstReceiveTimestamp": first_receive,
        },
        "messageAttributes": msg.get("messageAttributes", {}),
        "md5OfBody": msg.get("md5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{account_id}:{queue}",
        "awsRegion": region,
    }


def sqs_event(*bodies: str | dict[str, Any], queue: str = "my-queue") -> dict[str, Any]:
    """An SQS event as `sam local generate-event sqs receive-message` gives it, for tests and the CLI."""
    now = str(int(datetime.now(UTC).timestamp() * 1000))
    records = []
    for body in bodies:
        msg = new_message(body if isinstance(body, str) else json.dumps(body))
        records.append(lambda_record(msg, queue, 1, now))
    return {"Records": records}
