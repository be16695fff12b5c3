"""The operator's endpoints (rq-dashboard, metrics) behind a token when one is configured
(LIGHTBOX_OPERATOR_TOKEN; compose requires it): anyone who can reach the API's public port
must not read or empty the queues. The token is taken as `Authorization: Bearer TOKEN`, or as
the password of HTTP Basic auth so a browser can open the dashboard (it asks once).

The SQS API and the Invoke API are AWS endpoints: SigV4 guards those (lightbox/sigv4.py).
/health stays open: the container's health check and load balancers call it without credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable

from flask import Flask, Response, request

from lightbox import config
from lightbox.apigateway.gateway import unclaimed
from lightbox.runtime.invoke import Runtime

OPERATOR_PATHS = ("/_lightbox/rq", "/_lightbox/metrics")


def _given(header: str) -> str:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


def protect(app: Flask, token: str | None, paths: Iterable[str] = OPERATOR_PATHS) -> None:
    """Requests under `paths` need the token; nothing changes when no token is configured."""
    if not token:
        return
    guarded = tuple(paths)

    @app.before_request
    def _operator_only() -> Response | None:
        path = request.path
        if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in guarded):
            return None
        if hmac.compare_digest(_given(request.headers.get("Authorization", "")).encode(), token.encode()):
            return None
        return Response("operator endpoint: give LIGHTBOX_OPERATOR_TOKEN as a Bearer token or Basic password\n",
                        status=401, headers={"WWW-Authenticate": 'Basic realm="lightbox operator"'})


def protect_operator_endpoints(app: Flask, runtime: Runtime) -> None:
    """The gateway's operator endpoints (and /metrics where no template route claims it), when
    LIGHTBOX_OPERATOR_TOKEN is set."""
    protect(app, config.operator_token(), [*OPERATOR_PATHS, *unclaimed(runtime, ["/metrics"])])
