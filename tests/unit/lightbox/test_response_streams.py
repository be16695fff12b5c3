"""The pure parts of response streaming: the event-stream framing InvokeWithResponseStream answers with
(read back by botocore's own parser, as boto3 reads it), a streamed response as an HTTP answer, and
the stream body's end and error."""

from __future__ import annotations

import io
import json
from typing import Any

import botocore.session
import pytest
from botocore.eventstream import EventStream, EventStreamBuffer
from botocore.parsers import EventStreamJSONParser

from lightbox.exceptions import FunctionError
from lightbox.lambda_ import eventstream
from lightbox.lambda_.streamed import buffered, events
from lightbox.runtime.environments.invocation import HTTP_INTEGRATION, StreamBody
from lightbox.runtime.environments.runtime import streamed_result
from lightbox.runtime.invoke import Invocation


class _Raw:
    """What botocore reads an event stream from: a body with `stream()`."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self) -> Any:
        while chunk := self._data.read(7):  # small reads: messages split across them
            yield chunk

    def close(self) -> None:
        pass


def parsed(data: bytes) -> list[dict[str, Any]]:
    """The events as boto3's invoke_with_response_stream gives them."""
    model = botocore.session.get_session().get_service_model("lambda")
    shape = model.operation_model("InvokeWithResponseStream").output_shape.members["EventStream"]
    return list(EventStream(_Raw(data), shape, EventStreamJSONParser(), "InvokeWithResponseStream"))


def test_messages_are_read_back_by_botocore_with_their_headers_and_checksums() -> None:
    data = eventstream.message({":event-type": "x", "é": "ü"}, b"\x00payload\x00")
    buf = EventStreamBuffer()
    buf.add_data(data)
    (msg,) = list(buf)
    assert msg.headers == {":event-type": "x", "é": "ü"} and msg.payload == b"\x00payload\x00"


def test_payload_chunks_and_invoke_complete_parse_as_boto3_events() -> None:
    data = (eventstream.payload_chunk(b"first") + eventstream.payload_chunk(b"\x00" * 8)
            + eventstream.invoke_complete("RangeError", '{"errorMessage": "x"}', "TG9n"))
    assert parsed(data) == [{"PayloadChunk": {"Payload": b"first"}}, {"PayloadChunk": {"Payload": b"\x00" * 8}},
                            {"InvokeComplete": {"ErrorCode": "RangeError", "ErrorDetails": '{"errorMessage": "x"}',
                                                "LogResult": "TG9n"}}]
    assert parsed(eventstream.invoke_complete()) == [{"InvokeComplete": {}}]


def stream_of(chunks: list[bytes], content_type: str = HTTP_INTEGRATION, prelude: bytes | None = None,
              error: FunctionError | None = None) -> StreamBody:
    body = StreamBody(content_type)
    body.prelude = prelude
    for chunk in chunks:
        body.put(chunk)
    if error is not None:
        body.fail(error)
    body.end()
    return body


def test_a_stream_as_an_http_answer() -> None:
    raw = stream_of([b"a"], "text/plain")
    assert streamed_result(raw) == {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": raw}
    meta = stream_of([], prelude=b'{"headers": {"x": "1"}, "cookies": ["c=1"]}')
    assert streamed_result(meta) == {"statusCode": 200, "headers": {"x": "1"}, "cookies": ["c=1"], "body": meta}
    with pytest.raises(FunctionError, match="prelude is not JSON"):
        streamed_result(stream_of([], prelude=b"{oops"))


def test_the_first_end_or_error_of_a_stream_counts() -> None:
    body = stream_of([b"a", b"b"], error=FunctionError("boom", "RangeError"))
    body.fail(FunctionError("later", "Runtime.ExitError"))
    assert list(body) == [b"a", b"b"] and body.error is not None and body.error.error_type == "RangeError"
    done = stream_of([b"a"])
    done.fail(FunctionError("after the end", "Runtime.ExitError"))
    assert list(done) == [b"a"] and done.error is None


def test_the_invoke_apis_give_the_bytes_as_written_and_the_error_after_them() -> None:
    ok = Invocation("Fn", "r1", result=streamed_result(stream_of([b"body"], prelude=b'{"statusCode": 201}')))
    assert buffered(ok, ok.result["body"]) == (b'{"statusCode": 201}' + b"\x00" * 8 + b"body", None)
    failed_error = FunctionError("broke", "RangeError")
    failed_error.posted = {"errorType": "RangeError", "errorMessage": "broke", "trace": []}
    failed = Invocation("Fn", "r2", result=streamed_result(stream_of([b"part"], "text/plain", error=failed_error)))
    got = parsed(b"".join(events(failed, None)))
    assert got[0] == {"PayloadChunk": {"Payload": b"part"}}
    assert got[1]["InvokeComplete"]["ErrorCode"] == "RangeError"
    assert json.loads(got[1]["InvokeComplete"]["ErrorDetails"]) == failed_error.posted
    plain = Invocation("Fn", "r3", result={"n": 1})
    assert parsed(b"".join(events(plain, "TG9n"))) == [{"PayloadChunk": {"Payload": b'{"n": 1}'}},
                                                        {"InvokeComplete": {"LogResult": "TG9n"}}]
