"""Lightbox's Python runtime interface client: what runs inside a Python execution environment.

Run as a script (`python bootstrap.py`) in a fresh interpreter with Lambda's variables set. It
imports the handler (`_HANDLER`) from `LAMBDA_TASK_ROOT`, then loops on the Runtime API at
`AWS_LAMBDA_RUNTIME_API`: GET next, call the handler, POST its response or error. Payloads,
error shapes and logging follow AWS's `awslambdaric`, which `LIGHTBOX_PYTHON_RIC=awslambdaric`
runs instead (docs/environments.md says why this one is the default). Standard library only,
and nothing of lightbox: the environment imports nothing the function would not have on Lambda.

A handler result whose `body` is an iterator (a generator of server-sent events) is sent as
Lambda's response streaming sends it: chunked, a JSON prelude (statusCode, headers, cookies),
eight NUL bytes, then the body as the iterator produces it.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback
from collections.abc import Generator, Iterable
from typing import Any

BASE = "/2018-06-01/runtime"
STREAM_DELIMITER = b"\x00" * 8
_request_id = ""  # the invocation being served, for log lines


class Fault(Exception):
    """An error of the runtime itself (import, handler name, marshalling), with Lambda's errorType."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace or []


class Client:
    """The Runtime API over one keep-alive connection (a new one if the host closed it). Plain
    HTTP/1.1 on a socket: http.client's header parsing (email.parser) costs more than the rest
    of a warm invocation; the host always answers with Content-Length."""

    def __init__(self, address: str) -> None:
        host, _, port = address.partition(":")
        self.host, self.port = host, int(port or 80)
        self.sock, self.reader = self._connect()

    def _connect(self) -> tuple[socket.socket, Any]:
        sock = socket.create_connection((self.host, self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small requests, sent at once
        return sock, sock.makefile("rb")

    def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]
                  ) -> tuple[int, dict[str, str], bytes]:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall(f"{method} {BASE}{path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
                          f"{head}\r\n".encode("latin-1") + body)
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionResetError("the Runtime API closed the connection")
        got: dict[str, str] = {}
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            got[name.strip().lower()] = value.strip()
        payload = self.reader.read(int(got.get("content-length", "0")))
        if got.get("connection", "").lower() == "close":
            self._reconnect()
        return int(status_line.split()[1]), got, payload

    def _reconnect(self) -> None:
        self.reader.close()
        self.sock.close()
        self.sock, self.reader = self._connect()

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):
            try:
                return self._exchange(method, path, body or b"", headers or {})
            except (ConnectionError, OSError):
                self._reconnect()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def next(self) -> tuple[dict[str, str], bytes]:
        _, headers, body = self.call("GET", "/invocation/next")
        return headers, body

    def respond(self, request_id: str, payload: bytes) -> None:
        self.call("POST", f"/invocation/{request_id}/response", payload, {"Content-Type": "application/json"})

    def fail(self, request_id: str, error: dict[str, Any]) -> None:
        self.call("POST", f"/invocation/{request_id}/error", json.dumps(error).encode(),
                  {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error["errorType"]})

    def init_error(self, error: dict[str, Any]) -> None:
        self.call("POST", "/init/error", json.dumps(error).encode(),
                  {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error["errorType"]})

    def stream(self, request_id: str, prelude: dict[str, Any], body: Iterable[Any]) -> None:
        """A streamed response on a connection of its own: the host closes it when the client leaves."""
        import http.client  # only streams need it: a cold start without it is ~10 ms shorter

        chunks = _stream_chunks(prelude, body)
        try:
            conn = http.client.HTTPConnection(self.host, self.port)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.request("POST", f"{BASE}/invocation/{request_id}/response", body=chunks, encode_chunked=True,
                         headers={"Lambda-Runtime-Function-Response-Mode": "streaming",
                                  "Transfer-Encoding": "chunked",
                                  "Content-Type": "application/vnd.awslambda.http-integration-response"})
            conn.getresponse().read()
            conn.close()
        except (ConnectionError, http.client.HTTPException, OSError):
            pass  # the client went away: the stream is over
        finally:
            chunks.close()
            close = getattr(body, "close", None)
            if callable(close):
                close()  # GeneratorExit in the handler's generator, as a WSGI server would


def _stream_chunks(prelude: dict[str, Any], body: Iterable[Any]) -> Generator[bytes, None, None]:
    yield json.dumps(prelude).encode() + STREAM_DELIMITER
    for chunk in body:
        data = chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
        if data:
            yield data


class CognitoIdentity:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.cognito_identity_id = fields.get("cognitoIdentityId")
        self.cognito_identity_pool_id = fields.get("cognitoIdentityPoolId")


class ClientContext:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.client = fields.get("client")
        self.custom = fields.get("custom")
        self.env = fields.get("env")


class LambdaContext:
    """What Lambda passes as `context`, with awslambdaric's attribute names and types."""

    def __init__(self, request_id: str, deadline_ms: int, arn: str, client_context: str | None,
                 identity: str | None, tenant_id: str | None = None) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # a string, as awslambdaric's
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = CognitoIdentity(json.loads(identity)) if identity else None
        self.client_context = ClientContext(json.loads(client_context)) if client_context else None
        self.tenant_id = tenant_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


def setup_logging() -> None:
    """awslambdaric's line: [LEVEL]\\tISO-time\\trequest id\\tmessage, on the root logger."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


def load_handler(name: str) -> Any:
    """awslambdaric's _get_handler, with its messages: a missing handler fails each invocation."""
    try:
        module_name, attr = name.rsplit(".", 1)
    except ValueError as exc:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': {exc}") from None
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise Fault("Runtime.BuiltInModuleConflict",
                        f"Cannot use built-in module {module_name} as a handler module")
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise Fault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise Fault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace) from None
    handler = getattr(module, attr, None)
    if handler is None:
        missing = Fault("Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'")

        def fault_handler(event: Any, context: Any) -> Any:
            raise missing

        return fault_handler
    return handler


def error_payload(exc: BaseException, request_id: str = "") -> dict[str, Any]:
    if isinstance(exc, Fault):
        return {"errorMessage": exc.message, "errorType": exc.error_type, "requestId": request_id,
                "stackTrace": exc.trace}
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # not our own frame calling the handler
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(frames)}


def _streamed(result: Any) -> bool:
    body = result.get("body") if isinstance(result, dict) else None
    return body is not None and not isinstance(body, str | bytes | dict | list) and isinstance(body, Iterable)



def log_error(error: dict[str, Any]) -> None:
    """The error as Lambda's Python runtime logs it: `[ERROR] Type: message`, then the traceback."""
    kind = f" {error['errorType']}:" if error.get("errorType") else ""
    head = f"[ERROR]{kind} {error.get('errorMessage', '')}"
    lines = [head.rstrip()]
    if error.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            lines.extend(str(element).splitlines() or [""])
    print("\n".join(lines), flush=True)

def serve_one(client: Client, handler: Any) -> None:
    global _request_id
    headers, payload = client.next()
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _request_id = request_id
    trace = headers.get("lambda-runtime-trace-id")
    if trace:
        os.environ["_X_AMZN_TRACE_ID"] = trace
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    context = LambdaContext(request_id, int(headers.get("lambda-runtime-deadline-ms", "0")),
                            headers.get("lambda-runtime-invoked-function-arn", ""),
                            headers.get("lambda-runtime-client-context"),
                            headers.get("lambda-runtime-cognito-identity"),
                            headers.get("lambda-runtime-aws-tenant-id"))
    try:
        result = handler(json.loads(payload or b"null"), context)
        if _streamed(result):
            prelude = {k: v for k, v in result.items() if k != "body"}
            client.stream(request_id, prelude, result["body"])
            return
        try:
            body = json.dumps(result).encode()
        except (TypeError, ValueError) as exc:
            raise Fault("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - every handler error is the invocation's error
        error = error_payload(exc, request_id)
        log_error(error)
        client.fail(request_id, error)
        return
    finally:
        sys.stdout.flush()
    client.respond(request_id, body)


def main() -> None:
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path[0] = task_root  # not this script's folder: the function's code comes first, as on Lambda
    setup_logging()
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # noqa: BLE001 - an import that fails in any way fails the init
        error = error_payload(exc)
        log_error(error)
        client.init_error(error)
        sys.exit(1)
    while True:
        serve_one(client, handler)


if __name__ == "__main__":
    main()
