"""API Gateway's request -> Lambda event mapping, for REST (payload 1.0) and HTTP APIs (2.0).

Both keep AWS's field names so handlers (and aws-lambda-powertools) parse them unchanged.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lightbox import config
from lightbox.apigateway.routing import Match
from lightbox.template.model import Function, HttpRoute

_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))")


def _is_text(content_type: str) -> bool:
    return not content_type or bool(_TEXT_TYPES.match(content_type.lower()))


def _body(raw: bytes, content_type: str) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    if _is_text(content_type):
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode("ascii"), True


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request an API Gateway event is made of."""

    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    body: bytes
    source_ip: str
    host: str


def build_event(req: HttpRequest, match: Match, region: str, account_id: str) -> dict[str, Any]:
    route = match.route
    content_type = next((v for k, v in req.headers if k.lower() == "content-type"), "")
    body, is_b64 = _body(req.body, content_type)
    now = time.time()
    request_id = str(uuid.uuid4())
    user_agent = next((v for k, v in req.headers if k.lower() == "user-agent"), "")
    route_key = f"{route.method} {route.path}"
    if route.payload_version == "2.0":
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for k, v in req.headers:
            if k.lower() == "cookie":
                cookies.extend(c.strip() for c in v.split(";") if c.strip())
                continue
            # HTTP API lower-cases names and joins repeated headers with commas.
            headers[k.lower()] = f"{headers[k.lower()]},{v}" if k.lower() in headers else v
        query: dict[str, str] = {}
        for k, v in req.query:
            query[k] = f"{query[k]},{v}" if k in query else v
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": req.path,
            "rawQueryString": req.query_string,
            "headers": headers,
            "requestContext": {
                "accountId": account_id, "apiId": "local", "domainName": req.host,
                "domainPrefix": req.host.split(".")[0],
                "http": {"method": req.method, "path": req.path, "protocol": "HTTP/1.1",
                         "sourceIp": req.source_ip, "userAgent": user_agent},
                "requestId": request_id, "routeKey": route_key, "stage": "$default",
                "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": is_b64,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if match.path_parameters:
            event["pathParameters"] = match.path_parameters
        if body is not None:
            event["body"] = body
        return event
    multi_headers: dict[str, list[str]] = {}
    for k, v in req.headers:
        multi_headers.setdefault(k, []).append(v)
    multi_query: dict[str, list[str]] = {}
    for k, v in req.query:
        multi_query.setdefault(k, []).append(v)
    return {
        "resource": route.path,
        "path": req.path,
        "httpMethod": req.method,
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account_id, "apiId": "local", "resourcePath": route.path, "httpMethod": req.method,
            "path": f"/Prod{req.path}", "stage": "Prod", "requestId": request_id, "requestTimeEpoch": int(now * 1000),
            "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "protocol": "HTTP/1.1", "domainName": req.host,  # as REST APIs send them (Powertools requires both)
            "identity": {"sourceIp": req.source_ip, "userAgent": user_agent},
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }


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
                      "127.0.0.1", f"{config.HOST}:{config.PORT}")
    r = HttpRoute(method.upper(), route or path, payload_version, "Api")
    fn = Function("fn", "app.handler", Path("."), "python3.11", 3, 128, {}, [])
    return build_event(req, Match(fn, r, dict(path_parameters or {})), config.REGION, config.ACCOUNT_ID)
