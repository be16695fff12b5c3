"""Routes from an API's OpenAPI (or Swagger) body, as API Gateway imports it: the paths whose
`x-amazon-apigateway-integration` is a Lambda proxy become routes to that function; everything the
gateway would do and the emulator does not (authorizers, API keys, CORS, other integration types)
is collected as findings, one per API and kind, naming the routes it touches.

SAM writes its implicit and explicit APIs' events into such a body (ServerlessRestApi,
ServerlessHttpApi), so SAM events, a user's DefinitionBody and a raw RestApi Body all come through here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}
_FUNCTION_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d*:function:[^/]+")


@dataclass
class BodyRoutes:
    routes: list[tuple[str, str, str, str, str | None]] = field(default_factory=list)
    # (function ARN, METHOD, path, payload version, authorizer)
    problems: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (property, message) -> routes

    def problem(self, prop: str, message: str, route: str) -> None:
        self.problems.setdefault((prop, message), []).append(route)


def function_arn(uri: Any) -> str | None:
    """The function an integration URI invokes (`arn:...:apigateway:...:lambda:path/.../functions/ARN/
    invocations`, or an HTTP API's plain function ARN)."""
    if not isinstance(uri, str):
        return None
    found = _FUNCTION_ARN.search(uri)
    return found.group(0).removesuffix("/invocations") if found else None


def _schemes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    components = body.get("components")
    found = body.get("securityDefinitions") or (components.get("securitySchemes") if isinstance(components, dict)
                                                else None)
    return found if isinstance(found, dict) else {}


def _auth(security: Any, schemes: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(authorizer name, the kind of check it is) for an operation's `security`, or (None, None)."""
    for requirement in security if isinstance(security, list) else []:
        for name in requirement if isinstance(requirement, dict) else []:
            scheme = schemes.get(name)
            scheme = scheme if isinstance(scheme, dict) else {}
            if name == "NONE":
                continue
            if scheme.get("type") == "apiKey" and "x-amazon-apigateway-authorizer" not in scheme:
                kind = "IAM authorization" if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4" else "API keys"
                return name, kind
            return name, "authorizers"
    return None, None


def read_body(body: Any, http_api: bool) -> BodyRoutes:
    found = BodyRoutes()
    if not isinstance(body, dict) or not isinstance(body.get("paths"), dict):
        return found
    schemes = _schemes(body)
    default_security = body.get("security")
    if body.get("x-amazon-apigateway-cors"):
        found.problem("Cors", "CORS is not emulated: preflight requests are not answered and responses get no "
                              "CORS headers", "every route")
    if body.get("x-amazon-apigateway-binary-media-types"):
        found.problem("BinaryMediaTypes", "is not applied: bodies are base64-encoded when they are not text, "
                                          "whatever their type", "every route")
    for path, item in body["paths"].items():
        if not isinstance(item, dict):
            continue
        for key, op in item.items():
            if key.lower() not in _METHODS or not isinstance(op, dict):
                continue
            method = "ANY" if key.lower() == "x-amazon-apigateway-any-method" else key.upper()
            if path == "$default":  # an HTTP API's catch-all route
                method, path = "ANY", "/{proxy+}"
            route = f"{method} {path}"
            integration = op.get("x-amazon-apigateway-integration")
            if not isinstance(integration, dict):
                found.problem("DefinitionBody", "has no x-amazon-apigateway-integration; these routes are not "
                                                "served: {routes}", route)
                continue
            kind = str(integration.get("type", "")).lower()
            if kind != "aws_proxy":
                if kind == "mock" and method == "OPTIONS":
                    found.problem("Cors", "CORS preflight requests (OPTIONS answered by a MOCK integration) are "
                                          "not answered: {routes}", route)
                else:
                    found.problem("DefinitionBody", f"{kind.upper() or 'untyped'} integrations are not emulated; "
                                                    "these routes are not served: {routes}", route)
                continue
            uri = integration.get("uri")
            if integration.get("integrationSubtype"):  # an HTTP API's AWS service integration (SQS-SendMessage ...)
                found.problem("DefinitionBody", f"{integration['integrationSubtype']} service integrations are not "
                                                "emulated; these routes are not served: {routes}", route)
                continue
            if isinstance(uri, str) and "${stageVariables." in uri:
                found.problem("DefinitionBody", "integrations through stage variables are not resolved; these "
                                                "routes are not served: {routes}", route)
                continue
            arn = function_arn(uri)
            if arn is None:
                found.problem("DefinitionBody", f"the integration uri {uri!r} names no function; these routes "
                                                "are not served: {routes}", route)
                continue
            version = "1.0" if not http_api else str(integration.get("payloadFormatVersion", "1.0"))
            authorizer, check = _auth(op.get("security", default_security), schemes)
            if authorizer is not None:
                found.problem(f"Auth.Authorizers.{authorizer}" if check == "authorizers" else "Auth",
                              f"{check} are not emulated; requests to {{routes}} reach the function without "
                              "authorization", route)
            found.routes.append((arn, method, str(path), version, authorizer))
    return found
