"""API Gateway's request -> Lambda event mapping: REST (proxy, payload 1.0), HTTP APIs with payload
1.0 (`"version": "1.0"`) and 2.0. Field names, nulls and formats are AWS's, so handlers (and
aws-lambda-powertools' parser models) read them unchanged.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from lightbox import config
from lightbox.template.apimodel import HTTP, REST, Api, Integration, Route

_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))")


def is_text(content_type: str) -> bool:
    return not content_type or bool(_TEXT_TYPES.match(content_type.lower()))


def is_binary(content_type: str, binary_media_types: tuple[str, ...]) -> bool:
    """A REST API's binaryMediaTypes (wildcards as `image/*`, `*/*`) against a Content-Type or Accept."""
    for value in content_type.split(","):
        mime = value.split(";", 1)[0].strip().lower()
        if mime and any(fnmatch.fnmatchcase(mime, t.lower()) for t in binary_media_types):
            return True
    return False


def request_body(raw: bytes, content_type: str, api: Api) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): REST base64-encodes the binary media types it declares and passes the rest as
    text; HTTP APIs base64-encode whatever is not text."""
    if not raw:
        return None, False
    binary = is_binary(content_type, api.binary_media_types) if api.type == REST else not is_text(content_type)
    if not binary:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            if api.type == REST:
                return raw.decode("utf-8", errors="replace"), False
    return base64.b64encode(raw).decode("ascii"), True


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request an API Gateway event is made of."""

    method: str
    path: str  # without the stage
    query_string: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str
    scheme: str = "http"
    port: str = ""
    stage_path: str = ""  # "/Prod" when the stage came in the path

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")


@dataclass
class EventInput:
    """What the event is built from besides the request: set by the gateway and its steps."""

    api: Api
    route: Route
    path_parameters: dict[str, str]
    authorizer: dict[str, Any] | None = None
    identity: dict[str, Any] = field(default_factory=dict)


def _forwarded(req: HttpRequest) -> list[tuple[str, str]]:
    """The X-Forwarded-* headers API Gateway adds (replacing a client's Proto/Port, appending to For)."""
    given = req.header("x-forwarded-for")
    names = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port"}
    headers = [(k, v) for k, v in req.headers if k.lower() not in names]
    port = req.port or ("443" if req.scheme == "https" else "80")
    return [*headers, ("X-Forwarded-For", f"{given}, {req.source_ip}" if given else req.source_ip),
            ("X-Forwarded-Port", port), ("X-Forwarded-Proto", req.scheme)]


def _times(now: float) -> tuple[str, int]:
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"), int(now * 1000)


def _identity(req: HttpRequest, extra: dict[str, Any]) -> dict[str, Any]:
    keys = ("accessKey", "accountId", "apiKey", "apiKeyId", "caller", "cognitoAuthenticationProvider",
            "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "user",
            "userArn")
    ident: dict[str, Any] = dict.fromkeys(keys)
    ident.update({"sourceIp": req.source_ip, "userAgent": req.header("user-agent") or None, "clientCert": None})
    ident.update(extra)
    return ident


def build_event(req: HttpRequest, given: EventInput, account_id: str) -> dict[str, Any]:
    if given.api.type == HTTP and given.route.integration.payload_version == "2.0":
        return _v2(req, given, account_id)
    return _v1(req, given, account_id)


def _v1(req: HttpRequest, given: EventInput, account_id: str) -> dict[str, Any]:
    api, route = given.api, given.route
    body, is_b64 = request_body(req.body, req.header("content-type"), api)
    multi_headers: dict[str, list[str]] = {}
    for k, v in _forwarded(req):
        multi_headers.setdefault(k, []).append(v)
    multi_query: dict[str, list[str]] = {}
    for k, v in req.query:
        multi_query.setdefault(k, []).append(v)
    when, epoch = _times(time.time())
    request_id = str(uuid.uuid4())
    resource = route.key if api.type == HTTP else route.path
    context: dict[str, Any] = {
        "accountId": account_id, "apiId": api.id, "domainName": req.host, "domainPrefix": req.host.split(".")[0],
        "extendedRequestId": request_id, "httpMethod": req.method, "identity": _identity(req, given.identity),
        "path": f"{api.base_path}{req.path}", "protocol": "HTTP/1.1", "requestId": request_id,
        "requestTime": when, "requestTimeEpoch": epoch,
        "resourceId": route.key if api.type == HTTP else _resource_id(route), "resourcePath": resource,
        "stage": api.stage or "$default",
    }
    if given.authorizer is not None:
        context["authorizer"] = given.authorizer
    if route.operation_name and api.type == REST:
        context["operationName"] = route.operation_name
    event: dict[str, Any] = {
        "resource": resource, "path": req.path, "httpMethod": req.method,
        "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": given.path_parameters or None,
        "stageVariables": api.stage_variables or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_b64,
    }
    if api.type == HTTP:
        event = {"version": "1.0", **event}
    return event


def _resource_id(route: Route) -> str:
    # A REST resource's id: 6-10 lower-case characters, stable per route.
    return format(zlib.crc32(f"{route.method} {route.path}".encode()), "08x")[:6]


def _v2(req: HttpRequest, given: EventInput, account_id: str) -> dict[str, Any]:
    api, route = given.api, given.route
    body, is_b64 = request_body(req.body, req.header("content-type"), api)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for k, v in _forwarded(req):
        name = k.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in v.split(";") if c.strip())
            continue
        # HTTP API lower-cases names and joins repeated headers with commas.
        headers[name] = f"{headers[name]},{v}" if name in headers else v
    query: dict[str, str] = {}
    for k, v in req.query:
        query[k] = f"{query[k]},{v}" if k in query else v
    when, epoch = _times(time.time())
    raw_path = f"{api.base_path}{req.path}"  # a named stage is part of the path HTTP APIs see
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": req.query_string,
        "headers": headers,
        "requestContext": {
            "accountId": account_id, "apiId": api.id, "domainName": req.host,
            "domainPrefix": req.host.split(".")[0],
            "http": {"method": req.method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": req.source_ip,
                     "userAgent": req.header("user-agent")},
            "requestId": str(uuid.uuid4()), "routeKey": route.key, "stage": api.stage or "$default",
            "time": when, "timeEpoch": epoch,
        },
        "isBase64Encoded": is_b64,
    }
    if given.authorizer is not None:
        event["requestContext"]["authorizer"] = given.authorizer
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if given.path_parameters:
        event["pathParameters"] = given.path_parameters
    if api.stage_variables:
        event["stageVariables"] = api.stage_variables
    if body is not None:
        event["body"] = body
    return event


def http_event(method: str, path: str, body: str | bytes | dict[str, Any] | None = None,
               headers: dict[str, str] | None = None, path_parameters: dict[str, str] | None = None,
               query: dict[str, str] | None = None, route: str | None = None,
               payload_version: str = "2.0") -> dict[str, Any]:
    """An API Gateway event as `sam local generate-event apigateway` gives it, for tests and the CLI."""
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        hdrs.setdefault("content-type", "application/json")
    raw = body.encode() if isinstance(body, str) else (body or b"")
    qs = urlencode(query or {})
    req = HttpRequest(method.upper(), path, qs, list(hdrs.items()), list((query or {}).items()), raw,
                      "127.0.0.1", f"{config.HOST}:{config.PORT}", port=str(config.PORT))
    r = Route(method.upper(), route or path, Integration("AWS_PROXY", payload_version=payload_version))
    api = Api("local", "Api", HTTP if payload_version == "2.0" else REST,
              "$default" if payload_version == "2.0" else "Prod", routes=[r])
    return build_event(req, EventInput(api, r, dict(path_parameters or {})), config.ACCOUNT_ID)
