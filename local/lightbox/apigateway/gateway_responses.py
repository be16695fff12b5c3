"""REST API gateway responses: what an API declares for API Gateway's own answers (SAM's
`GatewayResponses`, a body's `x-amazon-apigateway-gateway-responses`, `AWS::ApiGateway::GatewayResponse`
resources). Their literal `responseParameters` headers (CORS headers on a 401, most often) and
`statusCode` are applied to the gateway's answers of that type, falling back to DEFAULT_4XX / DEFAULT_5XX,
as API Gateway does. Response templates (VTL) are not evaluated: the body stays API Gateway's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lightbox.apigateway.responses import HttpResponse

# x-amzn-ErrorType of API Gateway's answer -> its gateway response type
_TYPES = {
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "UnauthorizedException": "UNAUTHORIZED",
    "AccessDeniedException": "ACCESS_DENIED",
    "AuthorizerConfigurationException": "AUTHORIZER_CONFIGURATION_ERROR",
    "ForbiddenException": "INVALID_API_KEY",
    "IntegrationTimeout": "INTEGRATION_TIMEOUT",
    "RequestTooLongException": "REQUEST_TOO_LARGE",
    "TooManyRequestsException": "THROTTLED",
}


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: tuple[tuple[str, str], ...]


def _read(value: Any) -> GatewayResponse | None:
    if not isinstance(value, Mapping):
        return None
    params = value.get("responseParameters", value.get("ResponseParameters"))
    headers = []
    for key, given in (params.items() if isinstance(params, Mapping) else []):
        name = str(key).removeprefix("gatewayresponse.header.")
        if name != key and isinstance(given, str) and len(given) >= 2 and given[0] == given[-1] == "'":
            headers.append((name, given[1:-1]))
    status = value.get("statusCode", value.get("StatusCode"))
    return GatewayResponse(int(status) if str(status).isdigit() else None, tuple(headers))


def declared(api_name: str, api_id: str, resources: Iterable[tuple[str, str, Mapping[str, Any]]],
             ) -> dict[str, GatewayResponse]:
    """An API's gateway responses by type, from (name, type, properties) of the template's resources."""
    found: dict[str, GatewayResponse] = {}
    for name, kind, props in resources:
        if kind == "AWS::ApiGateway::RestApi" and name == api_name:
            body = props.get("Body")
            declared_in_body = body.get("x-amazon-apigateway-gateway-responses") if isinstance(body, Mapping) else None
            for key, value in (declared_in_body.items() if isinstance(declared_in_body, Mapping) else []):
                if (one := _read(value)) is not None:
                    found[str(key)] = one
        elif kind == "AWS::ApiGateway::GatewayResponse" and str(props.get("RestApiId")) == api_id and \
                (one := _read(props)) is not None:
            found[str(props.get("ResponseType", ""))] = one
    return found


def apply(responses: Mapping[str, GatewayResponse], out: HttpResponse) -> None:
    """Apply the API's gateway response to one of API Gateway's own answers."""
    if not out.from_gateway or not responses:
        return
    error = next((v for k, v in out.headers if k.lower() == "x-amzn-errortype"), "")
    kind = _TYPES.get(error, "")
    chosen = responses.get(kind) or responses.get("DEFAULT_4XX" if out.status < 500 else "DEFAULT_5XX")
    if chosen is None:
        return
    names = {k.lower() for k, _ in chosen.headers}
    out.headers = [(k, v) for k, v in out.headers if k.lower() not in names] + list(chosen.headers)
    if chosen.status is not None:
        out.status = chosen.status
