"""The tenant a REST API passes to a tenant-isolated function (TenancyConfig PER_TENANT).

API Gateway calls Lambda's Invoke API, which takes the tenant in its `X-Amz-Tenant-Id` header. A REST
API sets that header only through an integration request parameter,
`integration.request.header.X-Amz-Tenant-Id`, mapped from the method request (a header, query string
or path parameter), a stage variable, the authorizer's context, or a literal. HTTP APIs cannot set it,
so their invocations of such a function fail, as on AWS. A client's own `X-Amz-Tenant-Id` header
reaches the function's event only.
"""

from __future__ import annotations

from lightbox.apigateway.hooks import Call

_TARGET = "integration.request.header.x-amz-tenant-id"


def mapped_tenant(call: Call) -> str | None:
    """The tenant id the route's integration request parameters give (None: no mapping, or empty)."""
    route = call.route
    if route is None:
        return None
    source = next((v for k, v in route.integration.request_parameters.items() if k.lower() == _TARGET), None)
    if not isinstance(source, str):
        return None
    return _value(source.strip(), call) or None


def _value(source: str, call: Call) -> str:
    req = call.request
    if len(source) >= 2 and source[0] == source[-1] == "'":  # a literal
        return source[1:-1]
    kind, _, name = source.removeprefix("method.request.").partition(".")
    if source.startswith("method.request."):
        if kind == "header":
            return req.header(name)
        if kind == "querystring":
            return next((v for k, v in req.query if k == name), "")
        if kind == "path":
            return call.path_parameters.get(name, "")
        return ""
    if source.startswith("stageVariables."):
        return call.api.stage_variables.get(source.removeprefix("stageVariables."), "")
    if source.startswith("context.authorizer."):
        value = (call.authorizer or {}).get(source.removeprefix("context.authorizer."))
        return "" if value is None else str(value)
    return ""
