"""One model of an API Gateway API, whatever declared it: SAM `Api`/`HttpApi` events and resources,
an OpenAPI/Swagger body (inline, `DefinitionUri`, `AWS::Include`), raw `AWS::ApiGateway::*` and
`AWS::ApiGatewayV2::*` resources, quick-create HTTP APIs. `template/apis.py` and `openapi.py` build it;
the gateway (`apigateway/`) serves it; `Template.apis` holds every API of a load by its id.

What other steps of the request path read (authorizers, API keys, CORS), as declared:
- `Api.authorizers` by name (a body's `securityDefinitions`/`securitySchemes` with
  `x-amazon-apigateway-authorizer`, or `AWS::ApiGateway::Authorizer`/`AWS::ApiGatewayV2::Authorizer`),
  `Route.authorizer` (its name, or None), `Route.authorization_type` (NONE, CUSTOM, JWT, AWS_IAM,
  COGNITO_USER_POOLS), `Route.authorization_scopes`, `Route.api_key_required`, `Api.api_key_source`.
- `Api.cors`: the API's CORS declaration (HTTP API `CorsConfiguration` / `x-amazon-apigateway-cors`; for
  REST APIs, what SAM's `Cors` became: the OPTIONS methods answered by a MOCK integration, whose
  Access-Control-* response parameters are read back into the same shape). None when undeclared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REST = "REST"
HTTP = "HTTP"


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False
    source: str = ""  # CorsConfiguration | x-amazon-apigateway-cors | Cors (REST: OPTIONS MOCK methods)


@dataclass(frozen=True)
class Authorizer:
    """A Lambda (TOKEN/REQUEST), JWT, Cognito or IAM authorizer as the API declares it."""

    name: str
    type: str  # TOKEN | REQUEST | JWT | COGNITO_USER_POOLS | AWS_IAM
    function_arn: str | None = None  # the Lambda authorizer's function (an ARN, as the template gives it)
    identity_sources: tuple[str, ...] = ()  # as written: method.request.header.X / $request.header.X
    ttl_seconds: int | None = None  # authorizerResultTtlInSeconds / ReauthorizeEvery
    payload_version: str = "1.0"  # HTTP API Lambda authorizers: 1.0 or 2.0
    simple_responses: bool = False  # HTTP API: enableSimpleResponses
    identity_validation_expression: str | None = None  # REST TOKEN authorizers
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the declaration, for what is not typed


@dataclass(frozen=True)
class Integration:
    """Where a route goes: AWS_PROXY (Lambda), MOCK, HTTP_PROXY, HTTP, AWS (a service: SQS ...)."""

    type: str  # upper case: AWS_PROXY | MOCK | HTTP_PROXY | HTTP | AWS
    uri: str = ""
    function_arn: str | None = None  # AWS_PROXY: the function
    payload_version: str = "1.0"
    subtype: str | None = None  # HTTP API service integrations: SQS-SendMessage ...
    http_method: str = ""  # the integration's method (HTTP_PROXY, AWS)
    request_parameters: dict[str, Any] = field(default_factory=dict, compare=False)
    request_templates: dict[str, Any] = field(default_factory=dict, compare=False)
    responses: dict[str, Any] = field(default_factory=dict, compare=False)  # REST integration responses
    timeout_ms: int = 0  # timeoutInMillis; 0: API Gateway's maximum (29 s REST, 30 s HTTP API)


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or ANY
    path: str  # /orders/{id}, /files/{proxy+}; an HTTP API's $default is ANY /{proxy+} with default=True
    integration: Integration
    event_name: str = ""  # the SAM event's name, else "METHOD /path"
    authorization_type: str = "NONE"
    authorizer: str | None = None  # a name in Api.authorizers
    authorization_scopes: tuple[str, ...] = ()
    api_key_required: bool = False
    default: bool = False  # HTTP API `$default`: only when no other route matches
    operation_name: str = ""  # operationId / OperationName: REST events carry it as requestContext.operationName
    function: str = field(default="", compare=False)  # AWS_PROXY: the function's name in Template.functions

    @property
    def key(self) -> str:
        """The route key as HTTP APIs give it in the event (`GET /pets/{id}`, `$default`)."""
        return "$default" if self.default else f"{self.method} {self.path}"


@dataclass
class Api:
    id: str  # what the API's Ref gives
    name: str  # the user's name: ServerlessRestApi, MyApi, Child/Api
    type: str  # REST | HTTP
    stage: str  # REST: Prod (SAM's default) or the Stage's name; HTTP: $default unless a stage is named
    stage_variables: dict[str, str] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    cors: Cors | None = None
    binary_media_types: tuple[str, ...] = ()  # with SAM's `~1` unescaped: image/png, */*
    api_key_source: str = "HEADER"  # REST: HEADER | AUTHORIZER
    disable_execute_api_endpoint: bool = False
    openapi_version: str = ""  # SAM's OpenApiVersion, recorded
    source: str = ""  # "DefinitionBody" or "resources"
    declared_as: str = ""  # the type the user wrote: AWS::Serverless::Api, AWS::ApiGatewayV2::Api ...

    @property
    def max_integration_seconds(self) -> float:
        return 30.0 if self.type == HTTP else 29.0

    def integration_seconds(self, integration: Integration) -> float:
        """How long the gateway waits for an integration before its own timeout answer."""
        limit = self.max_integration_seconds
        return min(limit, integration.timeout_ms / 1000) if integration.timeout_ms > 0 else limit

    @property
    def base_path(self) -> str:
        """The stage in the path, as the execute-api URL has it (`/Prod`); an HTTP API's $default has none."""
        return "" if self.stage in ("", "$default") else f"/{self.stage}"


def sqs_queue(integration: Integration) -> str | None:
    """The queue name an SQS SendMessage integration sends to (None: not SQS, or not known before a request)."""
    if integration.subtype == "SQS-SendMessage":
        url = integration.request_parameters.get("QueueUrl")
        return str(url).rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) and "$" not in url else None
    if integration.type == "AWS" and ":sqs:path/" in integration.uri:
        return integration.uri.rstrip("/").rsplit("/", 1)[-1]
    return None
