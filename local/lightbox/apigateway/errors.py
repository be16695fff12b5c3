"""API Gateway's own answers, per API type, with the bodies and x-amzn-ErrorType clients match on."""

from __future__ import annotations

from lightbox.apigateway.responses import HttpResponse
from lightbox.template.apimodel import HTTP

# (REST, HTTP API): (status, body, x-amzn-ErrorType or "")
_ANSWERS: dict[str, tuple[tuple[int, str, str], tuple[int, str, str]]] = {
    "no_route": ((403, '{"message":"Missing Authentication Token"}', "MissingAuthenticationTokenException"),
                 (404, '{"message":"Not Found"}', "")),
    "lambda_error": ((502, '{"message": "Internal server error"}', "InternalServerErrorException"),
                     (500, '{"message":"Internal Server Error"}', "")),
    "malformed": ((502, '{"message": "Internal server error"}', "InternalServerErrorException"),
                  (500, '{"message":"Internal Server Error"}', "")),
    "timeout": ((504, '{"message": "Endpoint request timed out"}', "IntegrationTimeout"),
                (503, '{"message":"Service Unavailable"}', "")),
    "too_large": ((413, '{"message":"Request Too Long"}', "RequestTooLongException"),
                  (413, '{"message":"Request Entity Too Large"}', "")),
    "throttled": ((429, '{"message":"Too Many Requests"}', "TooManyRequestsException"),
                  (429, '{"message":"Too Many Requests"}', "")),
    "integration": ((500, '{"message": "Internal server error"}', "InternalServerErrorException"),
                    (500, '{"message":"Internal Server Error"}', "")),
}
MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload quota, both API types


def gateway_error(kind: str, api_type: str) -> HttpResponse:
    status, body, error_type = _ANSWERS[kind][api_type == HTTP]
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return HttpResponse(status, headers, body.encode(), from_gateway=True)
