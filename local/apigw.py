"""API Gateway in both directions: route matching, request -> event, handler result -> response.

Payload 2.0 is what HttpApi events get; 1.0 is the REST `Api` shape. Both keep AWS's field
names so handlers (and aws-lambda-powertools) parse them unchanged.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.model import Function, HttpRoute

_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))")


@dataclass(frozen=True)
class Match:
    function: Function
    route: HttpRoute
    path_parameters: dict[str, str]


class RouteTable:
    """Most specific route first, as API Gateway chooses: literal segments beat parameters,
    parameters beat greedy `{proxy+}`, and an exact method beats ANY."""

    def __init__(self, routes: Iterable[tuple[Function, HttpRoute]]) -> None:
        compiled = [(self._compile(r.path), f, r) for f, r in routes]
        compiled.sort(key=lambda c: self._rank(c[2]))
        self._routes = compiled

    @staticmethod
    def _rank(route: HttpRoute) -> tuple[int, int, int, bool]:
        segments = [s for s in route.path.split("/") if s]
        greedy = any(s.endswith("+}") for s in segments)
        literal = sum(1 for s in segments if not s.startswith("{"))
        return (int(greedy), -literal, -len(segments), route.method == "ANY")

    @staticmethod
    def _compile(path: str) -> re.Pattern[str]:
        parts = []
        for seg in path.strip("/").split("/"):
            if m := re.fullmatch(r"\{(\w+)\+\}", seg):
                parts.append(f"(?P<{m.group(1)}>.+)")
            elif m := re.fullmatch(r"\{(\w+)\}", seg):
                parts.append(f"(?P<{m.group(1)}>[^/]+)")
            else:
                parts.append(re.escape(seg))
        return re.compile("^/" + "/".join(parts) + "/?$" if parts != [""] else "^/$")

    def match(self, method: str, path: str) -> Match | None | str:
        """The match, None when no route has the path, or "method" when only the method is wrong."""
        path_found = False
        for pattern, fn, route in self._routes:
            m = pattern.match(path)
            if not m:
                continue
            path_found = True
            if route.method in (method, "ANY"):
                return Match(fn, route, {k: v for k, v in m.groupdict().items()})
        return "method" if path_found else None


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
            "identity": {"sourceIp": req.source_ip, "userAgent": user_agent},
        },
        "body": body,
        "isBase64Encoded": is_b64,
    }


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterable[bytes]


class BadLambdaResponse(ValueError):
    """The handler's return value is not a valid proxy response (API Gateway answers 502)."""


def _chunks(body: Iterable[Any]) -> Iterable[bytes]:
    for chunk in body:
        yield chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")


def build_response(result: Any, payload_version: str) -> HttpResponse:
    """Map a handler's return value back to HTTP, as API Gateway does for that payload version."""
    if payload_version == "2.0" and not (isinstance(result, Mapping) and "statusCode" in result):
        # HTTP API infers a 200 JSON response when the handler returns anything else.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode("utf-8"))
    if not isinstance(result, Mapping) or "statusCode" not in result:
        raise BadLambdaResponse(f"handler returned {type(result).__name__}, not a proxy response with statusCode")
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise BadLambdaResponse(f"statusCode {result['statusCode']!r} is not an integer") from None
    multi = result.get("multiValueHeaders") or {}
    # API Gateway merges the two maps; a name in both keeps only its multiValueHeaders values.
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items() if k not in multi]
    for k, values in multi.items():
        headers.extend((str(k), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or [])
    body = result.get("body")
    out: bytes | Iterable[bytes]
    if body is None:
        out = b""
    elif isinstance(body, bytes):
        out = body
    elif isinstance(body, int | float) and not isinstance(body, bool):
        out = str(body).encode("utf-8")  # API Gateway sends a number body as its text
    elif isinstance(body, str):
        out = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    elif isinstance(body, Iterable) and not isinstance(body, Mapping):
        out = _chunks(body)  # a generator body is streamed (server-sent events)
    else:
        raise BadLambdaResponse(f"body is {type(body).__name__}; expected a string")
    return HttpResponse(status, headers, out)
