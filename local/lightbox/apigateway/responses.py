"""API Gateway's Lambda result -> HTTP response mapping, per API type and payload version."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

# What a proxy response may hold; REST APIs answer 502 to anything else.
_V1_KEYS = {"statusCode", "body", "headers", "multiValueHeaders", "isBase64Encoded"}
# The gateway's answer when neither the integration nor API Gateway named one.
DEFAULT_CONTENT_TYPE = "application/json"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterable[bytes]
    from_gateway: bool = False  # API Gateway's own answer (an error, a refusal), not the integration's


class BadLambdaResponse(ValueError):
    """The handler's return value is not a valid proxy response (API Gateway answers 502)."""


def _chunks(body: Iterable[Any]) -> Iterable[bytes]:
    try:
        for chunk in body:
            yield chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
    finally:
        # The client left (or the body ended): the handler's generator, or the environment
        # streaming it, is told so, as a WSGI server closes the iterable it was given.
        close = getattr(body, "close", None)
        if callable(close):
            close()


def merged_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`headers` and `multiValueHeaders` as API Gateway merges them: one list per name, a pair given in
    both appears once."""
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, Mapping) or not isinstance(single, Mapping):
        raise BadLambdaResponse("headers and multiValueHeaders must be objects")
    out: list[tuple[str, str]] = []
    for k, values in multi.items():
        if not isinstance(values, list):
            raise BadLambdaResponse(f"multiValueHeaders[{k!r}] must be a list")
        out.extend((str(k), _text(v)) for v in values)
    for k, v in single.items():
        if (str(k), _text(v)) not in out:
            out.append((str(k), _text(v)))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_response(result: Any, payload_version: str, decode_base64: bool = True) -> HttpResponse:
    """Map a handler's return value back to HTTP, as API Gateway does for that payload version.
    `decode_base64`: False when a REST API's binary media types do not cover the response, where API
    Gateway passes the base64 text through."""
    if payload_version == "2.0" and not (isinstance(result, Mapping) and "statusCode" in result):
        # HTTP API infers a 200 JSON response when the handler returns anything else.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("Content-Type", "application/json")], text.encode("utf-8"))
    if not isinstance(result, Mapping) or "statusCode" not in result:
        raise BadLambdaResponse(f"handler returned {type(result).__name__}, not a proxy response with statusCode")
    unknown = set(result) - _V1_KEYS
    if unknown and payload_version != "2.0":  # payload 2.0 reads the keys it knows and ignores the rest
        raise BadLambdaResponse(f"unexpected keys {sorted(unknown)} in the proxy response")
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        raise BadLambdaResponse(f"statusCode {result['statusCode']!r} is not an integer") from None
    if not 100 <= status <= 599:
        raise BadLambdaResponse(f"statusCode {status} is not an HTTP status")
    headers = merged_headers(result)
    cookies = result.get("cookies") or []
    headers.extend(("Set-Cookie", str(c)) for c in cookies)
    body = result.get("body")
    out: bytes | Iterable[bytes]
    if body is None:
        out = b""
    elif isinstance(body, bytes):
        out = body
    elif isinstance(body, int | float) and not isinstance(body, bool):
        out = str(body).encode("utf-8")  # API Gateway sends a number body as its text
    elif isinstance(body, str):
        b64 = result.get("isBase64Encoded") in (True, "true", "True")
        try:
            out = base64.b64decode(body, validate=True) if b64 and decode_base64 else body.encode("utf-8")
        except ValueError:
            raise BadLambdaResponse("isBase64Encoded is true but the body is not base64") from None
    elif isinstance(body, Iterable) and not isinstance(body, Mapping):
        out = _chunks(body)  # a generator body is streamed (server-sent events)
    else:
        raise BadLambdaResponse(f"body is {type(body).__name__}; expected a string")
    return HttpResponse(status, headers, out)


def plain_wsgi(out: HttpResponse, method: str, start_response: Callable[..., Any]) -> list[bytes] | None:
    """`out` answered straight through WSGI when it is a whole body with a usual status, as werkzeug's
    Response would answer it (Content-Type defaults to JSON, Content-Length added); None otherwise
    (HEAD, 1xx/204/304, streams, a header with a line break), for werkzeug's Response. A tenth of
    what the gateway spends on a warm invoke went to building one."""
    phrase = HTTP_STATUS_CODES.get(out.status)
    if (not isinstance(out.body, bytes) or method == "HEAD" or phrase is None or out.status < 200
            or out.status in (204, 304)):
        return None
    headers = [(str(k), str(v)) for k, v in out.headers]
    names = {k.lower() for k, _ in headers}
    if any("\n" in k or "\r" in k or "\n" in v or "\r" in v for k, v in headers):
        return None  # werkzeug refuses these (header injection): left to it
    if "content-type" not in names:
        headers.append(("Content-Type", DEFAULT_CONTENT_TYPE))
    if "content-length" not in names:
        headers.append(("Content-Length", str(len(out.body))))
    start_response(f"{out.status} {phrase.upper()}", headers)  # as werkzeug writes it
    return [out.body]
