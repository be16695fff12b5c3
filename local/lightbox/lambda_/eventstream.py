"""AWS's event-stream framing (application/vnd.amazon.eventstream), the body of
InvokeWithResponseStream: each message is a prelude (total length, headers length, CRC32 of those
8 bytes), the headers, the payload, and a CRC32 of all that came before. botocore decodes it
(botocore.eventstream) but has no encoder, so this is the writer's side."""

from __future__ import annotations

import json
import struct
import zlib

_STRING = 7  # the header value type of a UTF-8 string


def _header(name: str, value: str) -> bytes:
    key, text = name.encode(), value.encode()
    return struct.pack("!B", len(key)) + key + struct.pack("!BH", _STRING, len(text)) + text


def message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message: string headers, then the payload as it is."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    lengths = struct.pack("!II", 12 + len(head) + len(payload) + 4, len(head))
    start = lengths + struct.pack("!I", zlib.crc32(lengths)) + head + payload
    return start + struct.pack("!I", zlib.crc32(start))


def event(event_type: str, payload: bytes, content_type: str) -> bytes:
    return message({":event-type": event_type, ":content-type": content_type, ":message-type": "event"}, payload)


def payload_chunk(data: bytes) -> bytes:
    """InvokeWithResponseStream's PayloadChunk: bytes of the response, as the function wrote them."""
    return event("PayloadChunk", data, "application/octet-stream")


def invoke_complete(error_code: str | None = None, error_details: str | None = None,
                    log_result: str | None = None) -> bytes:
    """The last event: the invocation is over (with its error, if it failed, and the log tail)."""
    fields = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    body = json.dumps({k: v for k, v in fields.items() if v is not None}).encode()
    return event("InvokeComplete", body, "application/json")
