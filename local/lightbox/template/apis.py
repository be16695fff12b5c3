"""API Gateway as CloudFormation declares it -> HTTP routes.

REST APIs (AWS::ApiGateway::RestApi) from their Body, a local BodyS3Location (CDK's SpecRestApi), or
their Resource/Method chain; HTTP APIs (AWS::ApiGatewayV2::Api) from their Body, quick create
(Target), or their Route/Integration resources. A stack's API resources are collected as its
resources are read and turned into routes once all are known (a Method may come before its Resource).
The gateway serves every API on one port without the stage in the path, as `sam local start-api` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lightbox.template import checks
from lightbox.template.building import PendingTrigger, Res, Scope
from lightbox.template.document import read_document
from lightbox.template.extensions import is_local, local_path
from lightbox.template.model import HttpRoute
from lightbox.template.openapi import BodyRoutes, function_arn, read_body


@dataclass
class _Api:
    id: str
    res: Res
    http: bool
    body: Any = None
    stages: list[str] = field(default_factory=list)


@dataclass
class ApiCollector:
    apis: dict[str, _Api] = field(default_factory=dict)  # by the API's id (its Ref)
    resources: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (parent id, PathPart)
    roots: dict[str, str] = field(default_factory=dict)  # root resource id -> api id
    methods: list[Res] = field(default_factory=list)
    routes: list[Res] = field(default_factory=list)
    integrations: dict[str, Res] = field(default_factory=dict)

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
            self.apis[ref] = _Api(ref, res, True, p.get("Body"), ["$default"])
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
        elif kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage"):
            api = self.apis.get(str(p.get("RestApiId", p.get("ApiId"))))
            if api is not None and isinstance(p.get("StageName"), str):
                api.stages.insert(0, p["StageName"])

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

    def finish(self, scope: Scope) -> None:
        for api in self.apis.values():
            if api.body is not None:
                self._emit(scope, api, read_body(api.body, api.http))
        chains: dict[str, BodyRoutes] = {}
        for res in self.methods:
            p = res.props
            located = self._path(str(p.get("ResourceId")))
            if located is None or located[0] not in self.apis:
                scope.load.finding(res, "ResourceId", f"{p.get('ResourceId')!r} is not a resource of a REST API of "
                                                      "this template: this method is not served")
                continue
            api_id, path = located
            method = str(p.get("HttpMethod", "ANY")).upper()
            integration = checks.mapping(p.get("Integration"), res.name, "Integration")
            auth = str(p.get("AuthorizationType", "NONE")).upper()
            self._one(chains.setdefault(api_id, BodyRoutes()), method, path,
                      str(integration.get("Type", "")).lower(), integration.get("Uri"), "1.0", auth,
                      p.get("AuthorizerId"))
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
                kind, uri, version = "aws_proxy", p["QuickTarget"], "2.0"
            else:
                target = str(p.get("Target", ""))
                integ = self.integrations.get(target.removeprefix("integrations/"))
                ip = integ.props if integ is not None else {}
                kind, uri = str(ip.get("IntegrationType", "none")).lower(), ip.get("IntegrationUri")
                version = str(ip.get("PayloadFormatVersion", "1.0"))
            auth = str(p.get("AuthorizationType", "NONE")).upper()
            self._one(chains.setdefault(api_id, BodyRoutes()), method.upper(), path, kind, uri, version, auth,
                      p.get("AuthorizerId"))
        for api_id, routes in chains.items():
            self._emit(scope, self.apis[api_id], routes)

    @staticmethod
    def _one(into: BodyRoutes, method: str, path: str, kind: str, uri: Any, version: str, auth: str,
             authorizer: Any) -> None:
        route = f"{method} {path}"
        arn = function_arn(uri)
        if kind == "aws_proxy" and arn is None:
            into.problem("Integration", "the integration names no function of this template; these routes are not "
                                        "served: {routes}", route)
            return
        if kind != "aws_proxy" or arn is None:
            if kind == "mock" and method == "OPTIONS":
                into.problem("Integration", "CORS preflight requests (OPTIONS answered by a MOCK integration) are "
                                            "not answered: {routes}", route)
            else:
                into.problem("Integration", f"{kind.upper() or 'untyped'} integrations are not emulated; these routes "
                                            "are not served: {routes}", route)
            return
        name = None
        if auth not in ("NONE", ""):
            name = str(authorizer) if isinstance(authorizer, str) else auth
            into.problem("AuthorizationType", f"{auth} authorization is not emulated; requests to {{routes}} reach "
                                              "the function without authorization", route)
        into.routes.append((arn, method, path, version, name))

    @staticmethod
    def _emit(scope: Scope, api: _Api, found: BodyRoutes) -> None:
        events = scope.sam_api_events()
        stage = api.stages[0] if api.stages else ""
        for arn, method, path, version, authorizer in found.routes:
            function = arn.rsplit(":function:", 1)[-1].split(":")[0]
            event = events.get((function, method, path)) or f"{method} {path}"
            route = HttpRoute(method, path, version, event, api.res.name, stage, authorizer, api.id)
            scope.load.triggers.append(PendingTrigger(arn, route, api.res, "DefinitionBody"))
        for (prop, message), routes in found.problems.items():
            listed = ", ".join(routes)
            scope.load.finding(api.res, prop, message.replace("{routes}", listed))


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
