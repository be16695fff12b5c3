"""An API's OpenAPI (or Swagger) body, as API Gateway imports it, into the API model (apimodel.py):
every operation with an `x-amazon-apigateway-integration` becomes a route with its integration
(AWS_PROXY Lambda, MOCK, HTTP_PROXY, an AWS service), its security (authorizer, API key), and the
API's authorizers, CORS, binary media types. What the gateway cannot do is said by the collector.

SAM writes its implicit and explicit APIs' events into such a body (ServerlessRestApi,
ServerlessHttpApi), so SAM events, a user's DefinitionBody and a raw RestApi Body all come through here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lightbox.template.apimodel import Authorizer, Cors, Integration, Route

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}
_FUNCTION_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d*:function:[^/]+")


@dataclass
class BodyRoutes:
    routes: list[Route] = field(default_factory=list)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    cors: Cors | None = None
    binary_media_types: tuple[str, ...] = ()
    api_key_source: str = "HEADER"
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


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def authorizer_of(name: str, scheme: Mapping[str, Any]) -> Authorizer | None:
    """A security scheme's `x-amazon-apigateway-authorizer` (or Cognito/IAM scheme) as the model has it."""
    decl = scheme.get("x-amazon-apigateway-authorizer")
    if not isinstance(decl, dict):
        if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
            return Authorizer(name, "AWS_IAM", raw=dict(scheme))
        return None
    kind = str(decl.get("type", "")).upper()
    if kind == "COGNITO_USER_POOLS":
        return Authorizer(name, kind, raw=dict(decl))
    jwt: dict[str, Any] = decl["jwtConfiguration"] if isinstance(decl.get("jwtConfiguration"), dict) else {}
    sources = _strings(decl.get("identitySource"))
    if kind == "TOKEN" and not sources and scheme.get("in") == "header":  # Swagger's apiKey scheme names it
        sources = (f"method.request.header.{scheme.get('name', 'Authorization')}",)
    ttl = decl.get("authorizerResultTtlInSeconds")
    return Authorizer(
        name, "REQUEST" if kind == "REQUEST" else kind, function_arn(decl.get("authorizerUri")), sources,
        int(ttl) if isinstance(ttl, int | str) and str(ttl).isdigit() else None,
        str(decl.get("authorizerPayloadFormatVersion", "1.0")), bool(decl.get("enableSimpleResponses", False)),
        decl.get("identityValidationExpression"), jwt.get("issuer"), _strings(jwt.get("audience")), dict(decl))


def cors_of(decl: Any, source: str) -> Cors | None:
    """HTTP API's CORS (`x-amazon-apigateway-cors` or a CorsConfiguration, any key case)."""
    if not isinstance(decl, dict):
        return None
    d = {str(k).lower(): v for k, v in decl.items()}
    age = d.get("maxage")
    return Cors(_strings(d.get("alloworigins")), _strings(d.get("allowmethods")), _strings(d.get("allowheaders")),
                _strings(d.get("exposeheaders")), int(age) if isinstance(age, int) else None,
                bool(d.get("allowcredentials", False)), source)


def _mock_cors(integration: Mapping[str, Any]) -> Cors | None:
    """The Access-Control-* headers an OPTIONS MOCK integration answers (what SAM's REST `Cors` becomes)."""
    responses = integration.get("responses")
    default = responses.get("default") if isinstance(responses, dict) else None
    params = default.get("responseParameters") if isinstance(default, dict) else None
    if not isinstance(params, dict):
        return None
    found = {str(k).rsplit(".", 1)[-1].lower(): str(v).strip("'") for k, v in params.items()}
    if "access-control-allow-origin" not in found:
        return None
    age = found.get("access-control-max-age", "")
    return Cors(_strings(found["access-control-allow-origin"]), _strings(found.get("access-control-allow-methods")),
                _strings(found.get("access-control-allow-headers")),
                _strings(found.get("access-control-expose-headers")),
                int(age) if age.isdigit() else None, found.get("access-control-allow-credentials") == "true", "Cors")


def _security(security: Any, schemes: Mapping[str, Any], authorizers: Mapping[str, Authorizer]
              ) -> tuple[str, str | None, tuple[str, ...], bool]:
    """(authorization type, authorizer name, scopes, API key required) of an operation's `security`."""
    kind, name, api_key = "NONE", None, False
    scopes: tuple[str, ...] = ()
    for requirement in security if isinstance(security, list) else []:
        for sname, sscopes in (requirement.items() if isinstance(requirement, dict) else []):
            scheme = schemes.get(sname)
            scheme = scheme if isinstance(scheme, dict) else {}
            if sname == "NONE":
                continue
            if sname in authorizers:
                auth = authorizers[sname]
                kind = {"TOKEN": "CUSTOM", "REQUEST": "CUSTOM"}.get(auth.type, auth.type)
                name, scopes = sname, _strings(sscopes)
            elif scheme.get("type") == "apiKey":
                api_key = True
    return kind, name, scopes, api_key


def integration_of(integ: Mapping[str, Any], http_api: bool) -> Integration:
    kind = str(integ.get("type", "")).upper()
    uri = integ.get("uri", "")
    timeout = integ.get("timeoutInMillis")
    return Integration(
        kind, uri if isinstance(uri, str) else "", function_arn(uri) if kind == "AWS_PROXY" else None,
        str(integ.get("payloadFormatVersion", "1.0")) if http_api else "1.0", integ.get("integrationSubtype"),
        str(integ.get("httpMethod", "")).upper(), dict(integ.get("requestParameters") or {}),
        dict(integ.get("requestTemplates") or {}), dict(integ.get("responses") or {}),
        int(timeout) if isinstance(timeout, int) else 0)


def read_body(body: Any, http_api: bool) -> BodyRoutes:
    found = BodyRoutes()
    if not isinstance(body, dict) or not isinstance(body.get("paths"), dict):
        return found
    schemes = _schemes(body)
    for name, scheme in schemes.items():
        auth = authorizer_of(str(name), scheme) if isinstance(scheme, dict) else None
        if auth is not None:
            found.authorizers[str(name)] = auth
    default_security = body.get("security")
    if http_api:
        found.cors = cors_of(body.get("x-amazon-apigateway-cors"), "x-amazon-apigateway-cors")
    found.binary_media_types = tuple(str(t).replace("~1", "/")
                                     for t in body.get("x-amazon-apigateway-binary-media-types") or ())
    found.api_key_source = str(body.get("x-amazon-apigateway-api-key-source", "HEADER")).upper()
    for path, item in body["paths"].items():
        if not isinstance(item, dict):
            continue
        for key, op in item.items():
            if key.lower() == "any" and isinstance(op, dict):  # SAM CLI reads it; OpenAPI and API Gateway do not
                found.problem("DefinitionBody", "`any` is not an OpenAPI operation: API Gateway ignores it "
                                                "(ANY is x-amazon-apigateway-any-method); not served: {routes}",
                              f"any {path}")
            if key.lower() not in _METHODS or not isinstance(op, dict):
                continue
            method = "ANY" if key.lower() == "x-amazon-apigateway-any-method" else key.upper()
            default = path == "$default"  # an HTTP API's catch-all route
            if default:
                method, path = "ANY", "/{proxy+}"
            route = f"{method} {path}"
            raw = op.get("x-amazon-apigateway-integration")
            if not isinstance(raw, dict):
                found.problem("DefinitionBody", "has no x-amazon-apigateway-integration; these routes are not "
                                                "served: {routes}", route)
                continue
            integration = integration_of(raw, http_api)
            if integration.type == "MOCK" and method == "OPTIONS" and not http_api and found.cors is None:
                found.cors = _mock_cors(raw)
            kind, authorizer, scopes, api_key = _security(op.get("security", default_security), schemes,
                                                          found.authorizers)
            found.routes.append(Route(method, str(path), integration, route, kind, authorizer, scopes, api_key,
                                      default, str(op.get("operationId") or "")))
    return found
