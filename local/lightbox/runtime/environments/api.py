"""Lambda's Runtime API, served to one execution environment on a loopback port of its own.

GET  /2018-06-01/runtime/invocation/next            the next event, with the Lambda-Runtime-* headers
POST /2018-06-01/runtime/invocation/{id}/response   the result, or a streamed response: chunked, header
     Lambda-Runtime-Function-Response-Mode: streaming, an error in the trailers Lambda-Runtime-Function-
     Error-Type / -Error-Body (base64 JSON); Content-Type HTTP_INTEGRATION: a prelude comes first
POST /2018-06-01/runtime/invocation/{id}/error      an error payload {errorMessage, errorType, stackTrace}
POST /2018-06-01/runtime/init/error                 the handler could not be loaded
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from lightbox.exceptions import FunctionError
from lightbox.runtime.environments.faults import from_payload
from lightbox.runtime.environments.invocation import HTTP_INTEGRATION, STREAM_DELIMITER, Pending, StreamBody

log = logging.getLogger(__name__)

BASE = "/2018-06-01/runtime"
ERROR_TYPE_TRAILER = "lambda-runtime-function-error-type"
ERROR_BODY_TRAILER = "lambda-runtime-function-error-body"


class Endpoint(Protocol):
    """What the API asks of the environment it serves."""

    def next_invocation(self) -> Pending | None: ...  # blocks; None: the environment is ending

    def pending(self, request_id: str) -> Pending | None: ...

    def init_failed(self, error: FunctionError) -> None: ...


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="lambda-runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """AWS_LAMBDA_RUNTIME_API: host:port, no scheme."""
        return f"127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # the environment's process ended mid-request (killed, exited): its invocation says so
        log.error("Runtime API of %s: %r", self.endpoint, exc)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.shutdown()
        self.server_close()


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a warm runtime reuses one connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: RuntimeApiServer
    _trailers: dict[str, str]  # of the last chunked request body read

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per invocation is the runtime's job, not the API's

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path != f"{BASE}/invocation/next":
            self._reply(404, {"errorMessage": f"unknown path {self.path}", "errorType": "InvalidRequest"})
            return
        pending = self.server.endpoint.next_invocation()
        if pending is None:
            self.close_connection = True
            self._reply(410, {"errorMessage": "environment ending", "errorType": "Runtime.Ending"})
            return
        deadline_ms = pending.deliver()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(pending.payload)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", pending.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
        for name, value in pending.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(pending.payload)

    def do_POST(self) -> None:
        path = self.path.removeprefix(BASE)
        if path == "/init/error":
            error = from_payload(_json(self._body()), self.headers.get("Lambda-Runtime-Function-Error-Type"))
            self.server.endpoint.init_failed(error)
            self._reply(202, {"status": "OK"})
            return
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            self._reply(404, {"errorMessage": f"unknown path {self.path}", "errorType": "InvalidRequest"})
            return
        pending = self.server.endpoint.pending(parts[1])
        if pending is None:
            self._body()
            self._reply(400, {"errorMessage": f"Invalid request ID: {parts[1]}", "errorType": "InvalidRequestID"})
            return
        if parts[2] == "error":
            error = from_payload(_json(self._body()), self.headers.get("Lambda-Runtime-Function-Error-Type"))
            if not pending.settle(error=error) and pending.stream is not None:
                pending.stream.fail(error)  # a runtime that reports a failure of its stream apart (Python's)
        elif self.headers.get("Lambda-Runtime-Function-Response-Mode", "").lower() == "streaming":
            if not self._stream(pending):
                return  # the gateway hung up (its client left): nobody to answer
        else:
            pending.settle(response=self._body())
        self._reply(202, {"status": "OK"})

    def _stream(self, pending: Pending) -> bool:
        """The stream starts (and settles the invocation) with its prelude when it has one, else
        with its first bytes; then every chunk goes to the gateway as it comes. An error the
        runtime reports in the trailers fails the invocation if nothing was streamed yet, else ends
        the stream with it. False when the stream was cut."""
        content_type = self.headers.get("Content-Type") or "application/octet-stream"
        body = StreamBody(content_type)
        body.hang_up = self._hang_up
        with_prelude = content_type.split(";")[0].strip().lower() == HTTP_INTEGRATION
        buffered, started = b"", False
        try:
            for chunk in self._chunks():
                if started:
                    body.put(chunk)
                    continue
                buffered += chunk
                if with_prelude:
                    if STREAM_DELIMITER not in buffered:
                        continue
                    body.prelude, _, buffered = buffered.partition(STREAM_DELIMITER)
                elif not buffered:
                    continue
                started = True
                if not pending.settle(prelude=body.prelude, stream=body):
                    return True  # timed out meanwhile
                if buffered:
                    body.put(buffered)
            error = self._trailer_error()
            if started:
                if error is not None:
                    body.fail(error)
            elif error is not None:
                pending.settle(error=error)
            elif with_prelude:  # no prelude after all: the whole body is the response
                pending.settle(response=buffered)
            else:  # an empty stream
                pending.settle(stream=body)
            return not body.closed.is_set()
        except OSError:
            self.close_connection = True
            body.fail(FunctionError("the runtime hung up mid-response", "Runtime.ExitError"))
            return False
        finally:
            body.end()

    def _trailer_error(self) -> FunctionError | None:
        kind = self._trailers.get(ERROR_TYPE_TRAILER)
        if kind is None:
            return None
        try:
            payload: object = json.loads(base64.b64decode(self._trailers.get(ERROR_BODY_TRAILER, "")))
        except (ValueError, binascii.Error):
            payload = {"errorType": kind, "errorMessage": self._trailers.get(ERROR_BODY_TRAILER, "")}
        return from_payload(payload, kind)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _chunks(self) -> Iterator[bytes]:
        self._trailers = {}
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            yield self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return
        while True:
            line = self.rfile.readline()
            if not line:
                raise ConnectionResetError("runtime hung up mid-response")
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = trailer.decode("latin-1").partition(":")
                    self._trailers[name.strip().lower()] = value.strip()
                return
            data = self.rfile.read(size)
            self.rfile.readline()
            yield data

    def _body(self) -> bytes:
        return b"".join(self._chunks())


def _json(data: bytes) -> object:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode("utf-8", "replace")
