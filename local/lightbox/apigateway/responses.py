"""API Gateway's Lambda result -> HTTP response mapping, per payload version."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterable[bytes]


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
