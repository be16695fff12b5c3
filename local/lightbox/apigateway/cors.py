"""CORS as API Gateway applies each declaration.

HTTP APIs (`CorsConfiguration`, `x-amazon-apigateway-cors`) and Lambda function URLs (`Cors`): the
gateway answers every OPTIONS request itself (a preflight), before routes and authorizers, and puts
its own CORS headers on every answer to a request whose Origin it allows (errors included), dropping
any the function returned.

REST APIs have no CORS setting: SAM's `Cors` becomes an OPTIONS method per path answered by a MOCK
integration with fixed Access-Control-* headers, whatever the Origin. Responses of a Lambda proxy
integration carry only the headers the function returns, and API Gateway's own errors none
(unless GatewayResponses add them). `rest_preflight` answers those OPTIONS methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lightbox.template.apimodel import Cors

Headers = list[tuple[str, str]]


def _get(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def allowed_origin(cors: Cors, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for this Origin, or None when it is not allowed."""
    if origin is None:
        return None
    if "*" in cors.allow_origins:
        # With credentials a browser refuses `*`: the origin itself is echoed, as API Gateway does.
        return origin if cors.allow_credentials else "*"
    lowered = origin.lower()
    return origin if any(o.lower().rstrip("/") == lowered.rstrip("/") for o in cors.allow_origins) else None


def preflight_headers(cors: Cors, request_headers: Iterable[tuple[str, str]]) -> Headers:
    """The answer to a preflight: empty when the Origin is not allowed (the browser then refuses)."""
    listed = list(request_headers)
    origin = allowed_origin(cors, _get(listed, "origin"))
    if origin is None:
        return []
    out: Headers = [("Access-Control-Allow-Origin", origin)]
    wanted_method = (_get(listed, "access-control-request-method") or "").upper()
    methods = cors.allow_methods
    if methods:
        out.append(("Access-Control-Allow-Methods", wanted_method if "*" in methods and wanted_method
                    else ",".join(methods)))
    wanted_headers = _get(listed, "access-control-request-headers")
    if cors.allow_headers:
        out.append(("Access-Control-Allow-Headers", wanted_headers if "*" in cors.allow_headers and wanted_headers
                    else ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        out.append(("Access-Control-Max-Age", str(cors.max_age)))
    if cors.allow_credentials:
        out.append(("Access-Control-Allow-Credentials", "true"))
    if origin != "*":
        out.append(("Vary", "Origin"))
    return out


def response_headers(cors: Cors, request_headers: Iterable[tuple[str, str]], given: Headers) -> Headers:
    """A response's headers with the API's CORS headers in place of the function's own."""
    kept = [(k, v) for k, v in given if not k.lower().startswith("access-control-")]
    origin = allowed_origin(cors, _get(request_headers, "origin"))
    if origin is None:
        return kept
    kept.append(("Access-Control-Allow-Origin", origin))
    if cors.expose_headers:
        kept.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    if cors.allow_credentials:
        kept.append(("Access-Control-Allow-Credentials", "true"))
    if origin != "*" and not any(k.lower() == "vary" for k, _ in kept):
        kept.append(("Vary", "Origin"))
    return kept


def rest_preflight(responses: Mapping[str, object]) -> tuple[int, Headers]:
    """A REST MOCK integration's default response: its status and the fixed headers its
    `responseParameters` give (`method.response.header.X: "'value'"`), as SAM's OPTIONS methods have them."""
    default = responses.get("default") if isinstance(responses.get("default"), Mapping) else None
    if not isinstance(default, Mapping):
        return 200, []
    params = default.get("responseParameters")
    out: Headers = []
    for key, value in (params.items() if isinstance(params, Mapping) else []):
        name = str(key).removeprefix("method.response.header.")
        if name != key and isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'":
            out.append((name, value[1:-1]))
    try:
        status = int(str(default.get("statusCode", 200)))
    except ValueError:
        status = 200
    return status, out
