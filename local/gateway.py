"""Flask app: the template's HTTP routes, plus the emulator's own endpoints under /_lightbox/."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from flask import Blueprint, Flask, Response, request

from local.apigw import BadLambdaResponse, HttpRequest, Match, RouteTable, build_event, build_response
from local.exceptions import InvocationTimeout
from local.runtime import Runtime

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> Response:
    # API Gateway's own error bodies look like this, and clients match on them.
    return Response(json.dumps({"message": message}), status=status, mimetype="application/json")


def _http_request() -> HttpRequest:
    return HttpRequest(
        method=request.method,
        path=request.path,
        query_string=request.query_string.decode("latin-1"),
        headers=list(request.headers.items()),
        query=list(request.args.items(multi=True)),
        body=request.get_data(cache=False),
        source_ip=request.remote_addr or "127.0.0.1",
        host=request.host,
    )


def create_app(runtime: Runtime, blueprints: Iterable[Blueprint] = ()) -> Flask:
    app = Flask("lightbox")
    routes = RouteTable(runtime.template.routes())
    template = runtime.template

    for bp in blueprints:
        app.register_blueprint(bp)

    @app.get("/_lightbox/health")
    def health() -> Response:
        return Response(json.dumps({"status": "ok", "functions": sorted(template.functions)}),
                        mimetype="application/json")

    def dispatch(path: str = "") -> Response:
        found = routes.match(request.method, request.path)
        if found is None:
            return _error(404, "Not Found")
        if found == "method":
            return _error(405, "Method Not Allowed")
        assert isinstance(found, Match)
        event = build_event(_http_request(), found, template.region, template.account_id)
        inv = runtime.invoke(found.function.name, event, trigger=f"http:{found.route.method} {found.route.path}")
        if not inv.ok:
            if isinstance(inv.error, InvocationTimeout):
                return _error(504, "Endpoint request timed out")
            return _error(500, "Internal Server Error")
        try:
            out = build_response(inv.result, found.route.payload_version)
        except BadLambdaResponse as exc:
            log.error("%s: malformed response: %s", found.function.name, exc)
            return _error(502, "Internal Server Error")
        resp = Response(out.body, status=out.status, direct_passthrough=not isinstance(out.body, bytes))
        resp.headers.clear()
        for k, v in out.headers:
            resp.headers.add(k, v)
        if "Content-Type" not in resp.headers:
            resp.headers["Content-Type"] = "application/json"
        return resp

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app.add_url_rule("/", "dispatch_root", dispatch, methods=methods)
    app.add_url_rule("/<path:path>", "dispatch", dispatch, methods=methods)
    return app
