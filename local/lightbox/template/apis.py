"""API Gateway as CloudFormation declares it -> the API model (apimodel.py), one `Api` per API.

REST APIs (AWS::ApiGateway::RestApi) from their Body, a local BodyS3Location (CDK's SpecRestApi), or
their Resource/Method chain; HTTP APIs (AWS::ApiGatewayV2::Api) from their Body, quick create
(Target), or their Route/Integration resources; authorizers, stages and their variables from their own
resources. A stack's API resources are collected as its resources are read and turned into APIs once
all are known (a Method may come before its Resource). Lambda proxy routes also become their
function's HttpRoute triggers (what `up` lists and `serve` answers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from lightbox.template import checks
from lightbox.template.apimodel import HTTP, REST, Api, Authorizer, Integration, Route
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.document import read_document
from lightbox.template.extensions import is_local, local_path
from lightbox.template.model import HttpRoute
from lightbox.template.openapi import BodyRoutes, cors_of, function_arn, read_body

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(\w+)\}")


def _has_intrinsics(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k == "Ref" or str(k).startswith("Fn::") or _has_intrinsics(v) for k, v in node.items())
    return isinstance(node, list) and any(_has_intrinsics(v) for v in node)


@dataclass
class _Api:
    id: str
    res: Res
    http: bool
    body: Any = None
    stages: list[str] = field(default_factory=list)
    deployment_stage: str = ""
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiCollector:
    apis: dict[str, _Api] = field(default_factory=dict)  # by the API's id (its Ref)
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (parent id, PathPart)
    roots: dict[str, str] = field(default_factory=dict)  # root resource id -> api id
    methods: list[Res] = field(default_factory=list)
    routes: list[Res] = field(default_factory=list)
    integrations: dict[str, Res] = field(default_factory=dict)
    authorizers: dict[str, tuple[str, Authorizer]] = field(default_factory=dict)  # ref -> (api id, authorizer)

    def add(self, scope: Scope, res: Res) -> None:
        kind, p = res.type, res.props
        ref = str(scope.attributes.ref(res.logical_id))
        if kind == "AWS::ApiGateway::RestApi":
            body = p.get("Body")
            location = p.get("BodyS3Location")
            if body is None and is_local(location):
                path = local_path(scope.base, str(location))
                scope.load.files.append(path)
                body = read_document(path, "BodyS3Location file")
                if _has_intrinsics(body):
                    scope.load.finding(res, "BodyS3Location", f"{location}: CloudFormation evaluates no intrinsic "
                                       "function (Fn::Sub, Ref ...) in this file (AWS::Include in Body does); "
                                       "integrations written with them name no function here either")
            elif body is None and location is not None:
                scope.load.finding(res, "BodyS3Location", f"{location!r} is not a local file: its routes are not "
                                                          "served")
            self.apis[ref] = _Api(ref, res, False, body)
            self.roots[str(scope.attributes.get_att(res.logical_id, "RootResourceId")[0])] = ref
        elif kind == "AWS::ApiGatewayV2::Api":
            protocol = str(p.get("ProtocolType", "HTTP")).upper()
            if protocol == "WEBSOCKET":
                scope.load.finding(res, "ProtocolType", "WebSocket APIs are not emulated; their routes are not served")
                return
            self.apis[ref] = _Api(ref, res, True, p.get("Body"))
            if "Target" in p:  # quick create: one route (RouteKey, default $default) to one function
                route = Res(res.logical_id, "quick-create", res.name, res.user_type, None,
                            {"ApiId": ref, "RouteKey": p.get("RouteKey", "$default"), "QuickTarget": p["Target"]},
                            {}, res.physical)
                self.routes.append(route)
        elif kind == "AWS::ApiGateway::Resource":
            self.resources[ref] = (str(p.get("ParentId")), str(p.get("PathPart", "")))
        elif kind == "AWS::ApiGateway::Method":
            self.methods.append(res)
        elif kind == "AWS::ApiGatewayV2::Route":
            self.routes.append(res)
        elif kind == "AWS::ApiGatewayV2::Integration":
            self.integrations[ref] = res
        elif kind in ("AWS::ApiGateway::Authorizer", "AWS::ApiGatewayV2::Authorizer"):
            self.authorizers[ref] = (str(p.get("RestApiId", p.get("ApiId"))), _authorizer(res))
        elif kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Deployment"):
            api = self.apis.get(str(p.get("RestApiId", p.get("ApiId"))))
            if api is None or not isinstance(p.get("StageName"), str):
                return
            if kind == "AWS::ApiGateway::Deployment":
                api.deployment_stage = p["StageName"]
                return
            api.stages.insert(0, p["StageName"])
            variables = p.get("Variables", p.get("StageVariables"))
            if isinstance(variables, dict) and not api.variables:
                api.variables = {str(k): str(v) for k, v in variables.items()}

    def _path(self, resource_id: str) -> tuple[str, str] | None:
        """(api id, /path) of a REST API resource, walking up its parents."""
        parts: list[str] = []
        seen: set[str] = set()
        while resource_id not in self.roots:
            if resource_id not in self.resources or resource_id in seen:
                return None
            seen.add(resource_id)
            resource_id, part = self.resources[resource_id]
            parts.insert(0, part)
        return self.roots[resource_id], "/" + "/".join(parts)

    def _auth(self, props: dict[str, Any]) -> tuple[str, str | None, tuple[str, ...], bool]:
        ref = props.get("AuthorizerId")
        found = self.authorizers.get(str(ref)) if ref is not None else None
        scopes = tuple(str(s) for s in props.get("AuthorizationScopes") or ())
        return (str(props.get("AuthorizationType", "NONE")).upper(), found[1].name if found else None, scopes,
                bool(props.get("ApiKeyRequired", False)))

    def finish(self, scope: Scope) -> None:
        bodies = {api_id: read_body(api.body, api.http) if api.body is not None else BodyRoutes()
                  for api_id, api in self.apis.items()}
        for api_id, authorizer in self.authorizers.values():
            if api_id in bodies:
                bodies[api_id].authorizers[authorizer.name] = authorizer
        for res in self.methods:
            p = res.props
            located = self._path(str(p.get("ResourceId")))
            if located is None or located[0] not in self.apis:
                scope.load.finding(res, "ResourceId", f"{p.get('ResourceId')!r} is not a resource of a REST API of "
                                                      "this template: this method is not served")
                continue
            api_id, path = located
            method = str(p.get("HttpMethod", "ANY")).upper()
            raw = checks.mapping(p.get("Integration"), res.name, "Integration")
            integration = Integration(str(raw.get("Type", "")).upper(), str(raw.get("Uri", "")),
                                      function_arn(raw.get("Uri")), "1.0", None,
                                      str(raw.get("IntegrationHttpMethod", "")).upper(),
                                      dict(raw.get("RequestParameters") or {}), dict(raw.get("RequestTemplates") or {}),
                                      {str(r.get("SelectionPattern", "default")): _lower_keys(r)
                                       for r in raw.get("IntegrationResponses") or [] if isinstance(r, dict)},
                                      _millis(raw.get("TimeoutInMillis")))
            bodies[api_id].routes.append(Route(method, path, integration, f"{method} {path}", *self._auth(p),
                                               operation_name=str(p.get("OperationName") or "")))
        for res in self.routes:
            p = res.props
            api_id = str(p.get("ApiId"))
            if api_id not in self.apis:
                scope.load.finding(res, "ApiId", f"{p.get('ApiId')!r} is not an HTTP API of this template: this "
                                                 "route is not served")
                continue
            key = str(p.get("RouteKey", "$default"))
            method, _, path = key.partition(" ")
            if key == "$default":
                method, path = "ANY", "/{proxy+}"
            if "QuickTarget" in p:
                integration = Integration("AWS_PROXY", str(p["QuickTarget"]), function_arn(p["QuickTarget"]), "2.0")
            else:
                target = str(p.get("Target", ""))
                integ = self.integrations.get(target.removeprefix("integrations/"))
                ip = integ.props if integ is not None else {}
                kind, uri = str(ip.get("IntegrationType", "")).upper(), ip.get("IntegrationUri", "")
                integration = Integration(kind, str(uri), function_arn(uri) if kind == "AWS_PROXY" else None,
                                          str(ip.get("PayloadFormatVersion", "1.0")), ip.get("IntegrationSubtype"),
                                          str(ip.get("IntegrationMethod", "")).upper(),
                                          dict(ip.get("RequestParameters") or {}),
                                          timeout_ms=_millis(ip.get("TimeoutInMillis")))
            bodies[api_id].routes.append(Route(method.upper(), path, integration, key, *self._auth(p),
                                               default=key == "$default"))
        for api_id, found in bodies.items():
            self._emit(scope, self.apis[api_id], found)

    @staticmethod
    def _emit(scope: Scope, api: _Api, found: BodyRoutes) -> None:
        events, owners = scope.sam_api_events(), scope.sam_api_owners()
        props = api.res.props
        stage = next(iter(api.stages), api.deployment_stage or ("$default" if api.http else "Prod"))
        binary = tuple(str(t).replace("~1", "/") for t in props.get("BinaryMediaTypes") or ())
        model = Api(api.id, api.res.name, HTTP if api.http else REST, stage, dict(api.variables),
                    authorizers=found.authorizers,
                    cors=cors_of(props.get("CorsConfiguration"), "CorsConfiguration") or found.cors,
                    binary_media_types=tuple(dict.fromkeys((*binary, *found.binary_media_types))),
                    api_key_source=str(props.get("ApiKeySourceType", found.api_key_source)).upper(),
                    disable_execute_api_endpoint=bool(props.get("DisableExecuteApiEndpoint", False)),
                    source="DefinitionBody" if api.body is not None else "resources",
                    declared_as=api.res.user_type,
                    openapi_version=str(api.body.get("openapi") or api.body.get("swagger") or "")
                    if isinstance(api.body, dict) else "")
        for route in found.routes:
            integration = _resolve_stage_variables(route.integration, model.stage_variables)
            arn = integration.function_arn
            function = arn.rsplit(":function:", 1)[-1].split(":")[0] if arn else ""
            name = events.get((function, route.method, route.path)) or route.event_name
            owner = owners.get((function, route.method, route.path), "")
            route = replace(route, integration=integration, event_name=name, function=owner)
            problem = unsupported(integration)
            if problem:
                found.problem("Integration" if api.body is None else "DefinitionBody",
                              f"{problem}; these routes answer 500 here: {{routes}}", f"{route.method} {route.path}")
            model.routes.append(route)
            if integration.type == "AWS_PROXY" and arn:
                trig = HttpRoute(route.method, route.path, integration.payload_version if api.http else "1.0", name,
                                 api.res.name, stage, route.authorizer, api.id)
                scope.load.triggers.append(PendingTrigger(owner or arn, trig, api.res, "DefinitionBody"))
        _pending_findings(model, found)
        scope.load.apis[api.id] = model
        for (prop, message), routes in found.problems.items():
            listed = ", ".join(routes)
            scope.load.finding(api.res, prop, message.replace("{routes}", listed))


def _millis(value: Any) -> int:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def _lower_keys(response: dict[str, Any]) -> dict[str, Any]:
    """A Method's IntegrationResponses entry in the body's spelling (statusCode, responseParameters ...)."""
    return {k[0].lower() + k[1:]: v for k, v in response.items()}


def _authorizer(res: Res) -> Authorizer:
    p = res.props
    kind = str(p.get("Type", p.get("AuthorizerType", ""))).upper()
    sources = p.get("IdentitySource")
    jwt: dict[str, Any] = p["JwtConfiguration"] if isinstance(p.get("JwtConfiguration"), dict) else {}
    ttl = p.get("AuthorizerResultTtlInSeconds")
    return Authorizer(
        str(p.get("Name") or res.logical_id), kind, function_arn(p.get("AuthorizerUri")),
        tuple(s.strip() for s in sources.split(",")) if isinstance(sources, str) else tuple(sources or ()),
        int(ttl) if isinstance(ttl, int) else None, str(p.get("AuthorizerPayloadFormatVersion", "1.0")),
        bool(p.get("EnableSimpleResponses", False)), p.get("IdentityValidationExpression"), jwt.get("Issuer"),
        tuple(jwt.get("Audience") or ()), dict(p))


def _resolve_stage_variables(integration: Integration, variables: dict[str, str]) -> Integration:
    """`${stageVariables.fn}` in an integration URI, resolved with the stage's variables as API Gateway does."""
    if "${stageVariables." not in integration.uri:
        return integration
    uri = _STAGE_VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), integration.uri)
    arn = function_arn(uri) if integration.type == "AWS_PROXY" and "${" not in uri else integration.function_arn
    return replace(integration, uri=uri, function_arn=arn)


def is_sqs(integration: Integration) -> bool:
    return integration.subtype == "SQS-SendMessage" or (integration.type == "AWS" and ":sqs:" in integration.uri)


def unsupported(integration: Integration) -> str | None:
    """Why the gateway cannot run an integration, or None (Lambda proxy, MOCK, HTTP_PROXY, SQS SendMessage)."""
    kind = integration.type
    if is_sqs(integration):
        action = integration.uri.rsplit("action/", 1)[-1] if "action/" in integration.uri else "SendMessage"
        return None if action == "SendMessage" else f"SQS {action} integrations are not emulated"
    if integration.subtype:
        return f"{integration.subtype} service integrations are not emulated"
    if kind == "AWS_PROXY":
        if "${stageVariables." in integration.uri:
            return "the integration uri names a stage variable the stage does not set"
        return None if integration.function_arn else f"the integration uri {integration.uri!r} names no function"
    if kind in ("MOCK", "HTTP_PROXY"):
        return None
    return f"{kind or 'untyped'} integrations are not emulated" if kind != "AWS" else \
        f"AWS service integrations ({integration.uri or 'no uri'}) are not emulated"


def _pending_findings(api: Api, found: BodyRoutes) -> None:
    """What the gateway's steps (apigateway/access.py) do not enforce: IAM and Cognito authorization, and a
    route naming an authorizer the API does not declare. Lambda and JWT authorizers, API keys and CORS are."""
    for route in api.routes:
        label = f"{route.method} {route.path}"
        declared = api.authorizers.get(route.authorizer or "")
        kind = declared.type if declared is not None else route.authorization_type
        if kind == "AWS_IAM":
            found.problem("Auth", "IAM authorization is not emulated; requests to {routes} reach the function "
                                  "without authorization", label)
        elif kind == "COGNITO_USER_POOLS":
            found.problem(f"Auth.Authorizers.{route.authorizer or kind}", "Cognito user pool authorizers are not "
                          "emulated; requests to {routes} reach the function without authorization", label)
        elif route.authorizer and declared is None:
            found.problem(f"Auth.Authorizers.{route.authorizer}", "is not an authorizer of this API; requests to "
                          "{routes} reach the function without authorization", label)


def say_unrouted_events(scope: Scope, user_name: Callable[[str], tuple[str, str, str | None]]) -> None:
    """A SAM Api/HttpApi event the transform made no route of (SAM leaves a DefinitionBody as written unless
    MergeDefinitions is set, on AWS too) is said, not silently missing. `user_name`: a function's physical
    name -> its user's name."""
    routed = {(p.function.split(":function:")[-1].split(":")[0], p.trigger.event_name)
              for p in scope.load.triggers if isinstance(p.trigger, HttpRoute)}
    for (function, method, path), event in scope.sam_api_events().items():
        if (function, event) not in routed:
            name, kind, _ = user_name(function)
            scope.load.finding(Res(function, kind, name, kind, event, {}, {}, ""), "",
                               f"{method} {path} is not a route of its API: SAM adds events to an API that has a "
                               "DefinitionBody only with MergeDefinitions: true (on AWS too); it is not served")
