"""Flask app: every API of the template (apimodel.py) as API Gateway answers it, plus the emulator's
own endpoints under /_lightbox/.

One request: select the API and route (routing.py), run the steps (hooks.py: authorizers, API keys,
CORS), then the route's integration: a Lambda proxy (events.py -> Runtime.invoke -> responses.py),
MOCK, HTTP_PROXY or SQS (integrations.py). API Gateway's own answers are errors.py's.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from flask import Blueprint, Flask, Request, Response, request
from werkzeug.exceptions import HTTPException

from lightbox.apigateway.errors import MAX_BODY, gateway_error
from lightbox.apigateway.events import EventInput, HttpRequest, build_event, is_binary
from lightbox.apigateway.hooks import Call, Step, default_steps
from lightbox.apigateway.integrations import (
    IntegrationFailed,
    IntegrationTimedOut,
    Sender,
    http_proxy,
    mock,
    sqs_send,
)
from lightbox.apigateway.responses import (
    DEFAULT_CONTENT_TYPE,
    BadLambdaResponse,
    HttpResponse,
    build_response,
    plain_wsgi,
)
from lightbox.apigateway.routing import RouteTable
from lightbox.apigateway.streaming import CountedStream
from lightbox.apigateway.tenancy import mapped_tenant
from lightbox.logs import TRACE_HEADER, new_trace_id, trace_id
from lightbox.runtime.environ import function_environment
from lightbox.runtime.invoke import Invocation, Runtime
from lightbox.runtime.tenancy import TenancyError, tenant_id
from lightbox.template.apimodel import HTTP, REST

log = logging.getLogger(__name__)


def _http_request(req: Request, path: str, stage_path: str) -> HttpRequest:
    host = req.host
    return HttpRequest(
        method=req.method,
        path=path,
        query_string=req.query_string.decode("latin-1"),
        headers=list(req.headers.items()),
        query=list(req.args.items(multi=True)),
        body=req.get_data(cache=False),
        source_ip=req.remote_addr or "127.0.0.1",
        host=host,
        scheme=req.scheme,
        port=host.rsplit(":", 1)[1] if ":" in host.rsplit("]", 1)[-1] else ("443" if req.scheme == "https" else "80"),
        stage_path=stage_path,
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


_pool: list[concurrent.futures.ThreadPoolExecutor] = []


def _waiting() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for invocations the gateway may stop waiting for (integration timeout < function timeout)."""
    if not _pool:
        _pool.append(concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="lightbox-integration"))
    return _pool[0]


def _lambda(call: Call) -> HttpResponse:
    api, route = call.api, call.route
    assert route is not None
    runtime = call.runtime
    given = EventInput(api, route, call.path_parameters, call.authorizer, call.identity)
    event = build_event(call.request, given, runtime.template.account_id)
    trigger = f"http:{route.method} {route.path}"
    limit = api.integration_seconds(route.integration)
    token = tenant_id.set(mapped_tenant(call) if api.type == REST else None)
    try:
        inv = _invoke(call, event, trigger, limit)
    finally:
        tenant_id.reset(token)
    if inv is None:
        return gateway_error("timeout", api.type)
    if not inv.ok:
        # A function that times out on its own is a function error to API Gateway (502 / 500), not its 504.
        kind = getattr(inv.error, "error_type", type(inv.error).__name__)
        if kind == "TooManyRequestsException":
            return gateway_error("throttled", api.type)
        if isinstance(inv.error, TenancyError):  # Lambda refused the call: the integration failed, not the function
            log.error("Execution failed: Lambda refused the invocation: %s", inv.error.message)
            return gateway_error("integration", api.type)
        return gateway_error("lambda_error", api.type)
    return _answer(call, inv)


def _invoke(call: Call, event: dict[str, Any], trigger: str, limit: float) -> Invocation | None:
    """The invocation, or None when the gateway stopped waiting for it (its integration timeout)."""
    runtime, route = call.runtime, call.route
    assert route is not None
    fn = runtime.template.function(route.function)
    if fn.timeout <= limit or fn.debug_port is not None:  # a debugging session is not cut at 29 s either
        return runtime.invoke(route.function, event, trigger=trigger)
    else:  # the gateway gives up before the function does (which runs on, as on AWS)
        context = contextvars.copy_context()
        future = _waiting().submit(context.run, runtime.invoke, route.function, event, trigger=trigger)
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            log.error("Execution failed due to a timeout error (%s after %.0f ms)", route.function, limit * 1000)
            return None


def _answer(call: Call, inv: Invocation) -> HttpResponse:
    api, route, runtime = call.api, call.route, call.runtime
    assert route is not None
    version = route.integration.payload_version if api.type == HTTP else "1.0"
    decode = api.type == HTTP
    try:
        if api.type == REST:  # REST decodes base64 only for its binary media types (Accept or Content-Type)
            decode = is_binary(call.request.header("accept"), api.binary_media_types) or (
                isinstance(inv.result, dict) and is_binary(_content_type(inv.result), api.binary_media_types))
        out = build_response(inv.result, version, decode)
    except BadLambdaResponse as exc:
        log.error("Execution failed due to configuration error: Malformed Lambda proxy response (%s: %s)",
                  route.function, exc)
        return gateway_error("malformed", api.type)
    if not isinstance(out.body, bytes):
        out.body = CountedStream(_in_environment(out.body, runtime.environment(runtime.template.function(
            route.function))), route.function)
    return out


def _content_type(result: dict[str, object]) -> str:
    for key in ("headers", "multiValueHeaders"):
        found = result.get(key)
        if isinstance(found, dict):
            for k, v in found.items():
                if str(k).lower() == "content-type":
                    return str(v[0] if isinstance(v, list) and v else v)
    return ""


def _integrate(call: Call, broker: Sender | None) -> HttpResponse:
    route, api = call.route, call.api
    if route is None:
        return gateway_error("no_route", api.type)
    integration = route.integration
    try:
        if integration.type == "AWS_PROXY" and route.function:
            return _lambda(call)
        if integration.type == "MOCK":
            return mock(integration)
        if integration.type == "HTTP_PROXY":
            return http_proxy(integration, call.request, call.path_parameters, api.integration_seconds(integration))
        if integration.subtype == "SQS-SendMessage" or (integration.type == "AWS" and ":sqs:" in integration.uri):
            return sqs_send(integration, call.request, broker, call.runtime.template.queues)
    except IntegrationTimedOut:
        return gateway_error("timeout", api.type)
    except IntegrationFailed as exc:
        log.error("Execution failed due to configuration error: %s", exc)
        return gateway_error("integration", api.type)
    log.error("%s %s: its %s integration is not emulated", route.method, route.path, integration.type)
    return gateway_error("integration", api.type)


def answer(runtime: Runtime, routes: RouteTable, req: Request, steps: Sequence[Step] = (),
           broker: Sender | None = None) -> Response:
    """One HTTP request through API Gateway and the route's integration; `lightbox serve` shares it."""
    return _flask(respond(runtime, routes, req, steps, broker))


def respond(runtime: Runtime, routes: RouteTable, req: Request, steps: Sequence[Step] = (),
            broker: Sender | None = None) -> HttpResponse:
    match = routes.select(req.method, req.path, req.host)
    if match is None:
        return gateway_error("no_route", HTTP)
    if req.content_length is not None and req.content_length > MAX_BODY:
        return gateway_error("too_large", match.api.type)
    path = req.path[len(match.stage_path):] or "/"
    call = Call(runtime, match.api, match.route, _http_request(req, path, match.stage_path), match.path_parameters)
    if len(call.request.body) > MAX_BODY:
        return gateway_error("too_large", match.api.type)
    out = None
    for step in steps:
        out = step(call)
        if out is not None:
            break
    if out is None:
        out = _integrate(call, broker)
    if call.response_headers or call.dropped_headers:  # a step's headers replace the answer's own (CORS)
        names = {k.lower() for k, _ in call.response_headers}
        out.headers = [(k, v) for k, v in out.headers
                       if k.lower() not in names and not k.lower().startswith(call.dropped_headers)]
        out.headers.extend(call.response_headers)
    for finish in call.finishers:
        finish(out)
    return out


def _flask(out: HttpResponse) -> Response:
    streamed = not isinstance(out.body, bytes)
    resp = Response(out.body, status=out.status, direct_passthrough=streamed)
    resp.headers.clear()
    for k, v in out.headers:
        resp.headers.add(k, v)
    if "Content-Type" not in resp.headers:
        resp.headers["Content-Type"] = DEFAULT_CONTENT_TYPE
    return resp


def unclaimed(runtime: Runtime, paths: Iterable[str]) -> list[str]:
    """The paths no template route answers to: the emulator's /health and /metrics never shadow the app's."""
    routes = RouteTable(runtime.template.apis.values())
    out = []
    for p in paths:
        found = routes.select("GET", p)
        if found is None or found.route is None:
            out.append(p)
    return out


def create_app(runtime: Runtime, blueprints: Iterable[Blueprint] = (), steps: Sequence[Step] | None = None,
               broker: Sender | None = None) -> Flask:
    # No static folder: Flask would otherwise answer /static/... itself, shadowing the template's routes.
    app = Flask("lightbox", static_folder=None)
    chosen = list(default_steps() if steps is None else steps)
    # The route table follows the runtime's template, which a template reload replaces.
    table: list[tuple[object, RouteTable]] = [(runtime.template, RouteTable(runtime.template.apis.values()))]

    def routes() -> RouteTable:
        if table[0][0] is not runtime.template:
            table[0] = (runtime.template, RouteTable(runtime.template.apis.values()))
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
        return answer(runtime, routes(), request, chosen, broker)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app.add_url_rule("/", "dispatch_root", dispatch, methods=methods)
    app.add_url_rule("/<path:path>", "dispatch", dispatch, methods=methods)
    flask_app = app.wsgi_app

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
        # A template route skips Flask's request machinery (contexts, session, hooks, a second URL
        # match): a tenth of a warm invoke. The emulator's own endpoints go through Flask, as does
        # everything once another hook than `trace` is set (LIGHTBOX_OPERATOR_TOKEN's guard).
        if app.before_request_funcs.get(None) == [trace] and dispatched(environ):
            req = Request(environ)
            token = trace_id.set(req.headers.get(TRACE_HEADER) or new_trace_id())
            try:
                out = respond(runtime, routes(), req, chosen, broker)
            finally:
                trace_id.reset(token)
            return plain_wsgi(out, req.method, start_response) or _flask(out)(environ, start_response)
        return flask_app(environ, start_response)

    seen: dict[tuple[str, str], bool] = {}  # (method, path): a template route's, not the emulator's own

    def dispatched(environ: dict[str, Any]) -> bool:
        key = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        if key not in seen:
            try:
                endpoint, _ = app.url_map.bind_to_environ(environ).match()
            except HTTPException:
                endpoint = None
            if len(seen) > 4096:  # paths with ids in them: kept bounded
                seen.clear()
            seen[key] = endpoint in ("dispatch", "dispatch_root")
        return seen[key]

    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
    return app
