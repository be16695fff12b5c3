"""Lambda function URLs (`AWS::Lambda::Url`, SAM's `FunctionUrlConfig`): each on its own local port.

The event is payload 2.0 as Lambda sends it for a URL (routeKey and stage `$default`, the URL id as
apiId and domain prefix, accountId `anonymous` for `AuthType: NONE`, no pathParameters), the answer
mapped as an HTTP API 2.0 answer. `Cors` is applied by the URL itself, as HTTP APIs do (cors.py).
`AuthType: AWS_IAM` is accepted and not checked (a line at start says so). `InvokeMode:
RESPONSE_STREAM`: a handler whose answer's body (or the answer itself) is a generator is streamed
chunk by chunk; BUFFERED URLs stream such a body too, as the gateway does for server-sent events. A
runtime's streamed response (Node.js `awslambda.streamifyResponse`) is answered with its prelude's
status, headers and cookies; one that fails after it started is cut short (no last chunk).

`!GetAtt Url.FunctionUrl` gives `https://ID.lambda-url.REGION.on.aws/`; `up` chooses the ports first
(`plan`), and every process puts the local URL in its place in the functions' environments.
"""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import GeneratorType
from typing import Any

from flask import Flask, Request, Response, request
from werkzeug.serving import BaseWSGIServer

from lightbox.apigateway.cors import preflight_headers, response_headers
from lightbox.apigateway.events import is_text
from lightbox.apigateway.http_server import make_gateway_server
from lightbox.apigateway.responses import BadLambdaResponse, build_response
from lightbox.apigateway.streaming import CountedStream
from lightbox.runtime.environ import function_environment
from lightbox.runtime.environments.invocation import StreamBody
from lightbox.runtime.invoke import Runtime
from lightbox.template.apimodel import Cors
from lightbox.template.attributes import short_id
from lightbox.template.model import Template

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionUrl:
    name: str  # the Url resource's name (FnUrl, Child/FnUrl)
    function: str  # the function's name in the template
    auth_type: str  # NONE | AWS_IAM
    invoke_mode: str  # BUFFERED | RESPONSE_STREAM
    cors: Cors | None
    placeholder: str  # what !GetAtt .FunctionUrl gave at load

    @property
    def url_id(self) -> str:
        return self.placeholder.removeprefix("https://").split(".", 1)[0]


def _cors(value: Any) -> Cors | None:
    if not isinstance(value, Mapping):
        return None

    def strings(key: str) -> tuple[str, ...]:
        v = value.get(key)
        return tuple(str(x) for x in v) if isinstance(v, list) else ()

    age = value.get("MaxAge")
    return Cors(strings("AllowOrigins"), tuple(m.upper() for m in strings("AllowMethods")), strings("AllowHeaders"),
                strings("ExposeHeaders"), int(age) if isinstance(age, int) else None,
                bool(value.get("AllowCredentials")), "FunctionUrlConfig.Cors")


def function_urls(template: Template) -> list[FunctionUrl]:
    by_physical = {fn.function_name: fn for fn in template.functions.values()}
    found = []
    for res in sorted(template.resources.values(), key=lambda r: r.name):
        if res.type != "AWS::Lambda::Url":
            continue
        target = str(res.properties.get("TargetFunctionArn", ""))
        physical = target.split(":function:", 1)[1].split(":")[0] if ":function:" in target else target
        fn = by_physical.get(physical)
        if fn is None:
            continue
        # The same value attributes.py gives for !GetAtt Url.FunctionUrl.
        placeholder = f"https://{short_id(res.stack, res.logical_id, length=32)}.lambda-url.{template.region}.on.aws/"
        found.append(FunctionUrl(res.name, fn.name, str(res.properties.get("AuthType", "NONE")).upper(),
                                 str(res.properties.get("InvokeMode", "BUFFERED")).upper(),
                                 _cors(res.properties.get("Cors")), placeholder))
    return found


def url_event(req: Request, url: FunctionUrl, account_id: str) -> dict[str, Any]:
    """The event Lambda sends a function for a request to its URL."""
    raw = req.get_data(cache=False)
    content_type = req.headers.get("content-type", "")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in req.headers.items():
        if k.lower() == "cookie":
            cookies.extend(c.strip() for c in v.split(";") if c.strip())
        else:
            headers[k.lower()] = f"{headers[k.lower()]},{v}" if k.lower() in headers else v
    query: dict[str, str] = {}
    for k, v in req.args.items(multi=True):
        query[k] = f"{query[k]},{v}" if k in query else v
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": req.path,
        "rawQueryString": req.query_string.decode("latin-1"), "headers": headers,
        "requestContext": {
            "accountId": "anonymous" if url.auth_type == "NONE" else account_id, "apiId": url.url_id,
            "domainName": req.host, "domainPrefix": url.url_id,
            "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1",
                     "sourceIp": req.remote_addr or "127.0.0.1", "userAgent": req.headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if url.auth_type == "AWS_IAM":
        event["requestContext"]["authorizer"] = {"iam": {"accessKey": None, "accountId": account_id,
                                                         "callerId": None, "userArn": None, "userId": None}}
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if raw:
        if is_text(content_type):
            try:
                event["body"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode("ascii"), True
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode("ascii"), True
    return event


def _plain(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _in_environment(body: Iterable[Any], env: dict[str, str]) -> Iterator[bytes]:
    """Chunks made after the handler returned still run inside the function's environment."""
    chunks = iter(body)
    try:
        while True:
            with function_environment(env):
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
            yield chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def _cut_on_error(stream: StreamBody) -> Iterator[bytes]:
    """The chunks of a streamed response; when the function failed mid-stream the connection is
    dropped before the chunked body's end, so the client sees a cut response, not a complete one."""
    try:
        yield from stream
        if stream.error is not None:
            raise ConnectionAbortedError(f"the function failed mid-stream: {stream.error}")
    finally:
        stream.close()


def answer(runtime: Runtime, url: FunctionUrl, req: Request) -> Response:
    headers = list(req.headers.items())
    if url.cors is not None and req.method == "OPTIONS":
        return Response(b"", status=200, headers=preflight_headers(url.cors, headers))
    fn = runtime.template.function(url.function)
    inv = runtime.invoke(fn.name, url_event(req, url, runtime.template.account_id), trigger=f"url:{url.name}")
    if not inv.ok:  # a function error and a timeout look the same through a URL
        return _plain(502, "Internal Server Error")
    result = inv.result
    if isinstance(result, GeneratorType):  # a streamed answer with no metadata: 200, the chunks as they come
        result = {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"}, "body": result}
    elif isinstance(result, dict) and isinstance(result.get("body"), StreamBody):
        result = {**result, "body": _cut_on_error(result["body"])}
    try:
        out = build_response(result, "2.0")
    except BadLambdaResponse as exc:
        log.error("%s: malformed response: %s", fn.name, exc)
        return _plain(502, "Internal Server Error")
    out_headers = out.headers if url.cors is None else response_headers(url.cors, headers, out.headers)
    if isinstance(out.body, bytes):
        resp = Response(out.body, status=out.status)
    else:
        body = CountedStream(_in_environment(out.body, runtime.environment(fn)), fn.name)
        resp = Response(body, status=out.status, direct_passthrough=True)
    resp.headers.clear()
    for k, v in out_headers:
        resp.headers.add(k, v)
    if "Content-Type" not in resp.headers:
        resp.headers["Content-Type"] = "application/json"
    return resp


def create_app(runtime: Runtime, url: FunctionUrl) -> Flask:
    app = Flask(f"lightbox-url-{url.url_id}", static_folder=None)

    def dispatch(path: str = "") -> Response:
        return answer(runtime, url, request)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app.add_url_rule("/", "root", dispatch, methods=methods)
    app.add_url_rule("/<path:path>", "any", dispatch, methods=methods)
    return app


def plan(template: Template, host: str, first_port: int) -> dict[str, str]:
    """Each function URL's AWS address -> the local URL it will be served on: the ports after the
    gateway's when free (stable across restarts), else free ones. Chosen before any process loads the
    template, so `!GetAtt Url.FunctionUrl` is the local URL in every one of them (loader.load_for)."""
    chosen: dict[str, str] = {}
    port = first_port
    for url in function_urls(template):
        while port < first_port + 100 and not _free(host, port):
            port += 1
        found = port if port < first_port + 100 else _any_port(host)
        chosen[url.placeholder] = f"http://{host}:{found}/"
        port = found + 1
    return chosen


def _free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _any_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class UrlServers:
    """One werkzeug server per function URL, started with `lightbox up` on the ports `plan` chose."""

    def __init__(self) -> None:
        self.servers: list[tuple[FunctionUrl, str, BaseWSGIServer]] = []

    def start(self, runtime: Runtime, planned: Mapping[str, str]) -> UrlServers:
        for url in function_urls(runtime.template):
            local = planned.get(url.placeholder)
            if local is None:  # added by a template reload: served from the next start
                continue
            host, port = local.removeprefix("http://").rstrip("/").rsplit(":", 1)
            server = make_gateway_server(host, int(port), create_app(runtime, url))
            threading.Thread(target=server.serve_forever, name=f"lightbox-url-{url.name}", daemon=True).start()
            self.servers.append((url, local, server))
        return self

    def url_of(self, function: str) -> str:
        """The local URL of a function (its name in the template)."""
        for url, local, _ in self.servers:
            if url.function == function:
                return local
        raise KeyError(f"{function} has no function URL")

    def lines(self) -> list[str]:
        return [f"    {url.function:20} {local}  (function URL {url.name}, AuthType {url.auth_type}, "
                f"{url.invoke_mode})" for url, local, _ in self.servers]

    def stop(self) -> None:
        for _, _, server in self.servers:
            server.shutdown()
            server.server_close()
        self.servers.clear()
