"""Node.js response streaming (tests/apps/node-streaming) on a real stack with real `node` environments:
`awslambda.streamifyResponse` handlers behind function URLs with InvokeMode RESPONSE_STREAM (chunks
reach the client while the handler runs; status, headers and cookies from HttpResponseStream.from),
the same handlers through the Invoke API (the whole body, prelude included, as Lambda returns it) and
through InvokeWithResponseStream with boto3, and an error thrown mid-stream."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from app_stack import app_stack
from botocore.config import Config

from lightbox.runtime.runtimes import node
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "node-streaming" / "template.yaml"
NUL8 = b"\x00" * 8
REPORT_BODY = b"id,total\n1,10\n2,20\n3,30\n"

pytestmark = pytest.mark.skipif(node.node() is None, reason="`node` is not on PATH: the Node.js functions need it")


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 13, tmp_path_factory.mktemp("lightbox")) as started:
        yield started


@pytest.fixture
def lam(stack: Stack) -> Any:
    return boto3.client("lambda", endpoint_url=stack.url, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


def url_of(stack: Stack, function: str) -> str:
    return stack.function_urls.url_of(function)


def first_line(chunks: Iterator[bytes]) -> bytes:
    got = b""
    while b"\n" not in got:
        got += next(chunks)
    return got


def test_a_url_answers_each_chunk_while_the_handler_still_runs(stack: Stack, tmp_path: Path) -> None:
    ready = tmp_path / "ready"  # the handler writes its rows only once this exists
    with requests.get(url_of(stack, "ReportFunction"), params={"ready": str(ready)}, stream=True, timeout=30) as resp:
        assert resp.status_code == 201
        assert resp.headers["Content-Type"] == "text/csv"
        assert resp.headers["X-Report"] == stack.template.function("ReportFunction").function_name
        assert resp.raw.headers.getlist("Set-Cookie") == ["report=1; Path=/", "theme=dark"]
        chunks = resp.iter_content(chunk_size=None)
        first = first_line(chunks)
        assert first == b"id,total\n"  # the prelude and its NUL bytes are not in the body
        ready.touch()  # only now can the handler go on and end
        rest = b"".join(chunks)
    assert first + rest == REPORT_BODY


def test_a_stream_without_metadata_is_a_200_of_its_content_type(stack: Stack) -> None:
    resp = requests.get(url_of(stack, "TextFunction"), timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.content == b'hello stream {"n":1}'


def test_an_error_mid_stream_cuts_the_url_response_and_an_early_one_is_a_502(stack: Stack) -> None:
    with requests.get(url_of(stack, "BrokenFunction"), stream=True, timeout=30) as resp:
        assert resp.status_code == 200  # the status went out with the first bytes
        chunks = resp.iter_content(chunk_size=None)
        assert first_line(chunks) == b"partial\n"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(chunks)  # no last chunk: the client can tell the answer is incomplete
    early = requests.get(url_of(stack, "BrokenFunction"), params={"early": "1"}, timeout=30)
    assert early.status_code == 502 and early.text == "Internal Server Error"


def test_the_invoke_api_returns_the_whole_stream_as_the_function_wrote_it(lam: Any) -> None:
    got = lam.invoke(FunctionName="ReportFunction", Payload=b"{}")
    assert got["StatusCode"] == 200 and "FunctionError" not in got
    prelude, sep, body = got["Payload"].read().partition(NUL8)
    assert sep == NUL8 and body == REPORT_BODY
    assert json.loads(prelude) == {"statusCode": 201, "headers": {"Content-Type": "text/csv", "X-Report": (
        json.loads(prelude)["headers"]["X-Report"])}, "cookies": ["report=1; Path=/", "theme=dark"]}
    text = lam.invoke(FunctionName="TextFunction")
    assert text["Payload"].read() == b'hello stream {"n":1}'


def test_the_invoke_api_gives_lambdas_error_for_a_failed_stream(lam: Any) -> None:
    for event, kind, message in (({}, "RangeError", "broke mid-stream"), ({"early": 1}, "TypeError",
                                                                          "nothing to stream")):
        got = lam.invoke(FunctionName="BrokenFunction", Payload=json.dumps(event).encode())
        assert got["FunctionError"] == "Unhandled"
        error = json.loads(got["Payload"].read())
        assert error["errorType"] == kind and error["errorMessage"] == message
        assert error["trace"][0] == f"{kind}: {message}"


def events(response: dict[str, Any]) -> list[dict[str, Any]]:
    return list(response["EventStream"])


def test_invoke_with_response_stream_sends_chunks_as_they_are_written(lam: Any, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    got = lam.invoke_with_response_stream(FunctionName="ReportFunction", LogType="Tail",
                                          Payload=json.dumps({"queryStringParameters": {"ready": str(ready)}}))
    assert got["StatusCode"] == 200 and got["ExecutedVersion"] == "$LATEST"
    assert got["ResponseStreamContentType"] == "application/vnd.awslambda.http-integration-response"
    stream = iter(got["EventStream"])
    payload = b""
    while b"id,total\n" not in payload:  # the prelude, then the first line, while the handler waits
        payload += next(stream)["PayloadChunk"]["Payload"]
    assert not ready.exists()
    ready.touch()
    rest = list(stream)
    assert [e for e in rest if "PayloadChunk" not in e] == [rest[-1]]
    payload += b"".join(e["PayloadChunk"]["Payload"] for e in rest[:-1])
    prelude, _, body = payload.partition(NUL8)
    assert json.loads(prelude)["statusCode"] == 201 and body == REPORT_BODY
    complete = rest[-1]["InvokeComplete"]
    assert "ErrorCode" not in complete
    assert "START RequestId:" in base64.b64decode(complete["LogResult"]).decode()


def test_invoke_with_response_stream_reports_an_error_mid_stream(lam: Any) -> None:
    got = events(lam.invoke_with_response_stream(FunctionName="BrokenFunction"))
    assert b"".join(e["PayloadChunk"]["Payload"] for e in got[:-1]) == b"partial\n"
    complete = got[-1]["InvokeComplete"]
    assert complete["ErrorCode"] == "RangeError"
    details = json.loads(complete["ErrorDetails"])
    assert details["errorType"] == "RangeError" and details["errorMessage"] == "broke mid-stream"


def test_invoke_with_response_stream_of_a_buffered_function_is_one_chunk(lam: Any) -> None:
    got = events(lam.invoke_with_response_stream(FunctionName="PlainFunction", Payload=b'{"a": 1}'))
    assert [list(e) for e in got] == [["PayloadChunk"], ["InvokeComplete"]]
    assert json.loads(got[0]["PayloadChunk"]["Payload"]) == {"plain": True, "got": {"a": 1}}
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke_with_response_stream(FunctionName="NoSuchFunction")


def test_a_streaming_environment_is_free_again_however_fast_its_stream_ends(stack: Stack) -> None:
    """A short stream may end, and its runtime ask for the next event, before the invoking side is done
    with the invocation: the environment must still be released, or the function stops answering."""
    with requests.Session() as session:
        for _ in range(100):
            got = session.get(url_of(stack, "TextFunction"), timeout=30)
            assert got.content == b'hello stream {"n":1}'


def test_a_stream_never_ended_is_cut_at_the_functions_timeout(stack: Stack, lam: Any) -> None:
    with requests.get(url_of(stack, "ForgetfulFunction"), stream=True, timeout=30) as resp:
        chunks = resp.iter_content(chunk_size=None)
        assert first_line(chunks) == b"started\n"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(chunks)
    got = lam.invoke(FunctionName="ForgetfulFunction")
    error = json.loads(got["Payload"].read())
    assert got["FunctionError"] == "Unhandled" and error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 2.00 seconds")


def test_a_streaming_handler_that_is_not_async_fails_as_on_lambda(lam: Any) -> None:
    got = lam.invoke(FunctionName="SyncFunction")
    assert got["FunctionError"] == "Unhandled"
    assert json.loads(got["Payload"].read()) == {
        "errorType": "string", "errorMessage": "Streaming does not support non-async handlers.", "trace": []}
