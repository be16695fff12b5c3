"""Lambda authorizers as API Gateway runs them before a route's integration.

REST APIs: TOKEN (the token alone) and REQUEST (the request's parts) authorizers answer an IAM policy,
evaluated against the method ARN (authorizer_policy.py); its `context` and `principalId` reach the
function in `requestContext.authorizer`, values as strings. HTTP APIs: REQUEST authorizers with payload
1.0 or 2.0, answering a policy or, with simple responses, `{"isAuthorized": ..., "context": ...}`;
the context reaches the function in `requestContext.authorizer.lambda`. JWT authorizers: jwt_auth.py.

Answers as API Gateway gives them: 401 `{"message":"Unauthorized"}` when an identity source is missing
or the authorizer raises "Unauthorized"; REST 403 `{"Message": "User is not authorized to access this
resource[ with an explicit deny]"}`, HTTP 403 `{"message":"Forbidden"}`; 500 when the authorizer fails
or answers something that is not a policy.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lightbox.apigateway.authorizer_policy import BadPolicy, Verdict, evaluate
from lightbox.runtime.invoke import Runtime
from lightbox.template.apimodel import Authorizer

log = logging.getLogger(__name__)

# REST: method.request.header.Auth, method.request.querystring.q, stageVariables.v, context.c
# HTTP: $request.header.Auth, $request.querystring.q, $stageVariables.v, $context.c
_SOURCE = re.compile(r"^\$?(?:method\.request\.|request\.)?(header|querystring|stageVariables|context)\.(.+)$")


@dataclass(frozen=True)
class IdentitySource:
    where: str  # header | querystring | stageVariables | context
    name: str

    @staticmethod
    def parse(text: str) -> IdentitySource | None:
        found = _SOURCE.match(text.strip())
        return IdentitySource(found.group(1), found.group(2)) if found else None


def identity_sources(auth: Authorizer) -> list[IdentitySource]:
    """The authorizer's identity sources; a TOKEN authorizer reads Authorization unless told otherwise."""
    parsed = [IdentitySource.parse(s) for t in auth.identity_sources for s in t.split(",") if s.strip()]
    found = [s for s in parsed if s is not None]
    if not found and auth.type in ("TOKEN", "JWT"):
        found = [IdentitySource("header", "Authorization")]
    return found


def ttl(auth: Authorizer, http_api: bool) -> int:
    """REST caches for 300 s unless told otherwise; HTTP APIs do not cache unless told."""
    return auth.ttl_seconds if auth.ttl_seconds is not None else (0 if http_api else 300)


@dataclass(frozen=True)
class Allowed:
    authorizer: dict[str, Any]  # the event's requestContext.authorizer
    usage_key: str | None = None  # a REST authorizer's usageIdentifierKey (API keys from the authorizer)


@dataclass(frozen=True)
class Refused:
    status: int
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()

    def json(self) -> bytes:
        return json.dumps(self.body).encode()


UNAUTHORIZED = Refused(401, {"message": "Unauthorized"}, (("x-amzn-ErrorType", "UnauthorizedException"),))
FORBIDDEN = Refused(403, {"message": "Forbidden"}, (("x-amzn-ErrorType", "ForbiddenException"),))
_EXPLICIT_DENY = Refused(403, {"Message": "User is not authorized to access this resource with an explicit deny"},
                         (("x-amzn-ErrorType", "AccessDeniedException"),))
_NOT_ALLOWED = Refused(403, {"Message": "User is not authorized to access this resource"},
                       (("x-amzn-ErrorType", "AccessDeniedException"),))
_REST_FAILED = Refused(500, {"message": None}, (("x-amzn-ErrorType", "AuthorizerConfigurationException"),))
_HTTP_FAILED = Refused(500, {"message": "Internal Server Error"})


@dataclass(frozen=True)
class AuthRequest:
    """What an authorizer sees of one request. `event(version)` builds the route's proxy event in that
    payload version (the gateway's own builder); the authorizer's event is made from it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    stage_variables: Mapping[str, str]
    arn: str  # REST: the method ARN; HTTP: the route ARN
    event: Callable[[str], dict[str, Any]]


def identity_value(source: IdentitySource, req: AuthRequest) -> str | None:
    if source.where == "header":
        values = [v for k, v in req.headers if k.lower() == source.name.lower()]
        return ",".join(values) if values else None
    if source.where == "querystring":
        return next((v for k, v in req.query if k == source.name), None)
    if source.where == "stageVariables":
        return req.stage_variables.get(source.name)
    node: Any = req.event("1.0").get("requestContext", {})
    for part in source.name.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return None if node is None else str(node)


@dataclass
class ResultCache:
    """Authorizer answers kept for their TTL, keyed by the identity sources' values. A REST policy is
    evaluated again on each request: a cached policy that allows only one path denies the others, as
    it does on AWS."""

    clock: Callable[[], float] = time.monotonic
    _entries: dict[tuple[str, ...], tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] <= self.clock():
                self._entries.pop(key, None)
                return None
            return found[1]

    def put(self, key: tuple[str, ...], ttl: int, value: Any) -> None:
        with self._lock:
            if len(self._entries) > 10_000:  # expired entries of one-off tokens go at once
                now = self.clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._entries[key] = (self.clock() + ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _function_name(arn: str) -> str:
    return arn.split(":function:", 1)[1].split(":")[0] if ":function:" in arn else arn


def _authorizer_event(auth: Authorizer, http_api: bool, req: AuthRequest, values: list[str]) -> dict[str, Any]:
    if auth.type == "TOKEN":
        return {"type": "TOKEN", "methodArn": req.arn, "authorizationToken": values[0]}
    version = auth.payload_version if http_api else "1.0"
    event = {k: v for k, v in req.event(version).items() if k not in ("body", "isBase64Encoded")}
    event["type"] = "REQUEST"
    if version == "2.0":
        event["routeArn"] = req.arn
        event["identitySource"] = values
    else:
        event["methodArn"] = req.arn
        if http_api:
            event["identitySource"] = ",".join(values)
    return event


def _scalar_context(context: Any, stringify: bool) -> dict[str, Any]:
    """REST passes context values as strings, and refuses objects and arrays (BadPolicy: a 500)."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise BadPolicy("context is not an object")
    out: dict[str, Any] = {}
    for k, v in context.items():
        if isinstance(v, Mapping | list):
            raise BadPolicy(f"context.{k} is an object or array; only strings, numbers and booleans are passed")
        out[str(k)] = (json.dumps(v) if isinstance(v, bool) else str(v)) if stringify and v is not None else v
    return out


def _rest_decision(result: Any, req: AuthRequest, latency_ms: int) -> Allowed | Refused:
    if not isinstance(result, Mapping) or "policyDocument" not in result or "principalId" not in result:
        raise BadPolicy("the answer has no principalId and policyDocument")
    verdict = evaluate(result["policyDocument"], req.arn)
    if verdict is Verdict.DENY:
        return _EXPLICIT_DENY
    if verdict is Verdict.NO_MATCH:
        return _NOT_ALLOWED
    ctx = _scalar_context(result.get("context"), stringify=True)
    ctx.update(principalId=str(result["principalId"]), integrationLatency=latency_ms)
    key = result.get("usageIdentifierKey")
    return Allowed(ctx, str(key) if key else None)


def _http_decision(auth: Authorizer, result: Any, req: AuthRequest) -> Allowed | Refused:
    if auth.simple_responses and auth.payload_version == "2.0":
        if not isinstance(result, Mapping) or not isinstance(result.get("isAuthorized"), bool):
            raise BadPolicy("a simple response needs isAuthorized, a boolean")
        if not result["isAuthorized"]:
            return FORBIDDEN
        context = result.get("context")
        return Allowed({"lambda": dict(context) if isinstance(context, Mapping) else {}})
    if not isinstance(result, Mapping) or "policyDocument" not in result:
        raise BadPolicy("the answer has no policyDocument")
    if evaluate(result["policyDocument"], req.arn) is not Verdict.ALLOW:
        return FORBIDDEN
    context = dict(result["context"]) if isinstance(result.get("context"), Mapping) else {}
    if "principalId" in result:
        context.setdefault("principalId", result["principalId"])
    return Allowed({"lambda": context})


# Lambda's errorMessage is "Unauthorized"; a runtime may prefix its error type ("Error: Unauthorized").
_UNAUTHORIZED_TEXT = re.compile(r"^(?:[\w.]+: )?['\"]?Unauthorized['\"]?$")


class LambdaAuthorizers:
    """Runs an API's Lambda authorizers through the runtime, with one result cache for all of them."""

    def __init__(self, runtime: Runtime, cache: ResultCache | None = None) -> None:
        self.runtime = runtime
        self.cache = cache or ResultCache()

    def authorize(self, auth: Authorizer, http_api: bool, req: AuthRequest, api_id: str = "") -> Allowed | Refused:
        values = [identity_value(s, req) for s in identity_sources(auth)]
        if any(not v for v in values):
            return UNAUTHORIZED
        present = [v for v in values if v]
        expression = auth.identity_validation_expression
        if auth.type == "TOKEN" and expression and not re.fullmatch(expression, present[0]):
            return UNAUTHORIZED
        failed = _HTTP_FAILED if http_api else _REST_FAILED
        key = (api_id, auth.name, *present)
        seconds = ttl(auth, http_api)
        cacheable = seconds > 0 and bool(present)
        result = self.cache.get(key) if cacheable else None
        latency = 0
        if result is None:
            name = _function_name(auth.function_arn or "")
            try:
                self.runtime.template.function(name)
            except KeyError:  # API Gateway could not invoke it either: a configuration error
                log.error("authorizer %s: %s is not a function of this template", auth.name, auth.function_arn)
                return failed
            started = time.perf_counter()
            event = _authorizer_event(auth, http_api, req, present)
            inv = self.runtime.invoke(name, event, trigger=f"authorizer:{auth.name}")
            latency = int((time.perf_counter() - started) * 1000)
            if not inv.ok:
                # Lambda's convention for "no credentials": the function fails with exactly "Unauthorized".
                return UNAUTHORIZED if _UNAUTHORIZED_TEXT.match(str(inv.error)) else failed
            result = inv.result
        try:
            decision = _http_decision(auth, result, req) if http_api else _rest_decision(result, req, latency)
        except BadPolicy:
            return failed
        if cacheable:
            self.cache.put(key, seconds, result)
        return decision
