"""`lightbox serve FUNCTION --port 8080`: one HTTP function alone behind functions-framework,
the way Cloud Run hosts a function: each request becomes an API Gateway v2 (or v1, per the
template) event, the handler's result becomes the HTTP response.

functions-framework loads its target by file and name, so this file is also that source:
`functions-framework --source lightbox/apigateway/serve.py --target lightbox_http` with LIGHTBOX_SERVE_FUNCTION
(and the usual REDIS_URL, S3_ENDPOINT_URL ...) in the environment is the same server.

Precedence, as everywhere: --port > PORT (Cloud Run's contract) > 8080; --host > LIGHTBOX_HOST > 0.0.0.0.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
from pathlib import Path

import flask

from lightbox import config
from lightbox.apigateway.gateway import answer
from lightbox.apigateway.routing import RouteTable
from lightbox.config import Settings
from lightbox.exceptions import LightboxError
from lightbox.runtime.invoke import Runtime
from lightbox.template.apimodel import HTTP, Api, Integration, Route

TARGET = "lightbox_http"
SOURCE = Path(__file__)


class FunctionHost:
    """Answers HTTP for one function: the routes its HttpApi/Api events declare, or, when it has
    none, every path with payload 2.0 (what a function URL gives)."""

    def __init__(self, runtime: Runtime, function: str) -> None:
        fn = runtime.template.function(function)
        apis = [dataclasses.replace(a, routes=[r for r in a.routes if r.function == fn.name])
                for a in runtime.template.apis.values()]
        apis = [a for a in apis if a.routes]
        if not apis:
            lambda_url = Integration("AWS_PROXY", payload_version="2.0")
            apis = [Api("url", fn.name, HTTP, "$default", routes=[
                Route("ANY", "/", lambda_url, "FunctionUrl", function=fn.name),
                Route("ANY", "/{proxy+}", lambda_url, "FunctionUrl", function=fn.name)])]
        runtime.load(fn.name)  # a handler that cannot be imported fails `serve`, not the first request
        self.runtime = runtime
        self.function = fn.name
        self.routes = RouteTable(apis)

    def __call__(self, request: flask.Request) -> flask.Response:
        return answer(self.runtime, self.routes, request)


_host: FunctionHost | None = None
_lock = threading.Lock()


def host() -> FunctionHost:
    """The process's one host, built from the environment on first use."""
    global _host
    with _lock:
        if _host is None:
            from lightbox.runtime.environ import install_scoped_environ
            from lightbox.runtime.invoke import build_runtime

            function = config.serve_function()
            if not function:
                raise LightboxError(f"set {config.SERVE_FUNCTION_VAR} to the function to serve")
            install_scoped_environ()
            settings = Settings.load()
            _host = FunctionHost(build_runtime(settings), function)
        return _host


def lightbox_http(request: flask.Request) -> flask.Response:
    """functions-framework's target. It runs this file again as its own module, so the host is
    kept in the `lightbox.apigateway.serve` module that every copy imports, not in this copy's globals."""
    canonical = importlib.import_module("lightbox.apigateway.serve")
    return canonical.host()(request)  # type: ignore[no-any-return]


def run(function: str, port: int | None, host_name: str | None, settings: Settings) -> None:
    """Serve until stopped, with functions-framework's own production server (gunicorn)."""
    import functions_framework
    from functions_framework._http import create_server  # what its CLI runs

    os.environ.update(config.child_env(settings))
    os.environ[config.SERVE_FUNCTION_VAR] = function
    host()  # fail here, with the function's error, before a port is taken
    app = functions_framework.create_app(target=TARGET, source=str(SOURCE), signature_type="http")
    bind, port = config.serve_address(port, host_name)
    create_server(app, False).run(bind, port)
