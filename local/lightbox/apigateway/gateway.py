"""Flask app: the template's HTTP routes, plus the emulator's own endpoints under /_lightbox/."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator

from flask import Blueprint, Flask, Request, Response, request

from lightbox.apigateway.events import HttpRequest, build_event
from lightbox.apigateway.responses import BadLambdaResponse, build_response
from lightbox.apigateway.routing import Match, RouteTable
from lightbox.apigateway.streaming import CountedStream
from lightbox.exceptions import InvocationTimeout, Throttled
from lightbox.logs import TRACE_HEADER, new_trace_id, trace_id
from lightbox.runtime.environ import function_environment
from lightbox.runtime.invoke import Runtime

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> Response:
    # API Gateway's own error bodies look like this, and clients match on them.
    return Response(json.dumps({"message": message}), status=status, mimetype="application/json")


def _http_request(req: Request) -> HttpRequest:
    return HttpRequest(
        method=req.method,
        path=req.path,
        query_string=req.query_string.decode("latin-1"),
        headers=list(req.headers.items()),
        query=list(req.args.items(multi=True)),
        body=req.get_data(cache=False),
        source_ip=req.remote_addr or "127.0.0.1",
        host=req.host,
    )


def _in_environment(body: Iterable[bytes], env: dict[str, str]) -> Iterator[bytes]:
    """A streamed body is produced after the handler returned, on the server's thread: each chunk is
    made inside the function's environment, as the rest of its invocation was."""
    chunks = iter(body)
    try:
        while True:
            with function_environment(env):  # entered per chunk: the overlay never leaks past a yield
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def answer(runtime: Runtime, routes: RouteTable, req: Request) -> Response:
    """One HTTP request through API Gateway's mapping and the function; `lightbox serve` shares it."""
    found = routes.match(req.method, req.path)
    if found is None:
        return _error(404, "Not Found")
    if found == "method":
        return _error(405, "Method Not Allowed")
    assert isinstance(found, Match)
    template = runtime.template
    event = build_event(_http_request(req), found, template.region, template.account_id)
    inv = runtime.invoke(found.function.name, event, trigger=f"http:{found.route.method} {found.route.path}")
    if not inv.ok:
        if isinstance(inv.error, InvocationTimeout):
            return _error(504, "Endpoint request timed out")
        if isinstance(inv.error, Throttled):  # Lambda's TooManyRequestsException
            return _error(429, "Too Many Requests")
        return _error(500, "Internal Server Error")
    try:
        out = build_response(inv.result, found.route.payload_version)
    except BadLambdaResponse as exc:
        log.error("%s: malformed response: %s", found.function.name, exc)
        return _error(502, "Internal Server Error")
    if isinstance(out.body, bytes):
        body: bytes | CountedStream = out.body
    else:
        streamed = _in_environment(out.body, runtime.environment(found.function))
        body = CountedStream(streamed, found.function.name)
    resp = Response(body, status=out.status, direct_passthrough=not isinstance(body, bytes))
    resp.headers.clear()
    for k, v in out.headers:
        resp.headers.add(k, v)
    if "Content-Type" not in resp.headers:
        resp.headers["Content-Type"] = "application/json"
    return resp


def unclaimed(runtime: Runtime, paths: Iterable[str]) -> list[str]:
    """The paths no template route answers to: the emulator's /health and /metrics never shadow the app's."""
    routes = RouteTable(runtime.template.routes())
    return [p for p in paths if routes.match("GET", p) is None]


def create_app(runtime: Runtime, blueprints: Iterable[Blueprint] = ()) -> Flask:
    # No static folder: Flask would otherwise answer /static/... itself, shadowing the template's routes.
    app = Flask("lightbox", static_folder=None)
    # The route table follows the runtime's template, which a template reload replaces.
    table: list[tuple[object, RouteTable]] = [(runtime.template, RouteTable(runtime.template.routes()))]

    def routes() -> RouteTable:
        if table[0][0] is not runtime.template:
            table[0] = (runtime.template, RouteTable(runtime.template.routes()))
        return table[0][1]

    for bp in blueprints:
        app.register_blueprint(bp)

    @app.before_request
    def trace() -> None:
        # Logs of this request (the function's too: its thread copies our context) carry one trace id.
        trace_id.set(request.headers.get(TRACE_HEADER) or new_trace_id())

    @app.get("/_lightbox/health")
    def health() -> Response:
        return Response(json.dumps({"status": "ok", "functions": sorted(runtime.template.functions)}),
                        mimetype="application/json")

    def dispatch(path: str = "") -> Response:
        return answer(runtime, routes(), request)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app.add_url_rule("/", "dispatch_root", dispatch, methods=methods)
    app.add_url_rule("/<path:path>", "dispatch", dispatch, methods=methods)
    return app
