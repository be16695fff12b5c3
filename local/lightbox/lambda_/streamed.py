"""A streamed response (a Node.js `awslambda.streamifyResponse` handler, a Python generator body)
through the Invoke APIs. Both give the bytes as the function wrote them, prelude and its 8 NUL
bytes included, as Lambda does (only a function URL reads the prelude): `Invoke` all at once,
`InvokeWithResponseStream` as event-stream PayloadChunk events while they come, then InvokeComplete
(with ErrorCode = the error's type and ErrorDetails = its payload when the function failed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lightbox.lambda_ import eventstream
from lightbox.lambda_.payloads import response_body
from lightbox.runtime.environments.invocation import StreamBody
from lightbox.runtime.invoke import Invocation


def stream_of(inv: Invocation) -> StreamBody | None:
    """The stream of a streamed response, None for any other outcome."""
    body = inv.result.get("body") if inv.ok and isinstance(inv.result, dict) else None
    return body if isinstance(body, StreamBody) else None


def buffered(inv: Invocation, stream: StreamBody) -> tuple[bytes, dict[str, Any] | None]:
    """(the whole response, the error payload when the function failed mid-stream)."""
    try:
        data = stream.raw_prefix() + b"".join(stream)
    finally:
        stream.close()
    if stream.error is None:
        return data, None
    inv.error = stream.error
    return response_body(inv)


def events(inv: Invocation, log_result: str | None) -> Iterator[bytes]:
    """InvokeWithResponseStream's body for any invocation: a buffered result is one chunk."""
    stream = stream_of(inv)
    if stream is None:
        data, error = response_body(inv)
        if error is None:
            yield eventstream.payload_chunk(data)
            yield eventstream.invoke_complete(log_result=log_result)
        else:
            yield eventstream.invoke_complete(str(error["errorType"]), data.decode(), log_result)
        return
    try:
        if stream.prelude is not None:
            yield eventstream.payload_chunk(stream.raw_prefix())
        for chunk in stream:
            yield eventstream.payload_chunk(chunk)
    finally:
        stream.close()  # the caller left: the function's stream is hung up on
    if stream.error is None:
        yield eventstream.invoke_complete(log_result=log_result)
        return
    inv.error = stream.error
    _, error = response_body(inv)
    yield eventstream.invoke_complete(stream.error.error_type, json.dumps(error), log_result)
