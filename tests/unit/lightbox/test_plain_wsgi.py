"""The gateway's straight WSGI answer (responses.plain_wsgi) says what werkzeug's Response would."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from lightbox.apigateway.gateway import _flask
from lightbox.apigateway.responses import HttpResponse, plain_wsgi


def started(answer: Any) -> tuple[list[Any], Any]:
    seen: list[Any] = []
    body = answer(lambda status, headers, exc_info=None: seen.append((status, sorted(headers))))
    return seen, body


@pytest.mark.parametrize("out", [
    HttpResponse(200, [("content-type", "text/plain")], b"hi"),
    HttpResponse(201, [], b'{"id": 1}'),
    HttpResponse(404, [("X-A", "1"), ("x-a", "2")], b""),
    HttpResponse(502, [("Content-Length", "3")], b"bad"),
    HttpResponse(302, [("Location", "/next")], b""),
])
def test_a_whole_body_is_answered_as_werkzeug_would(out: HttpResponse) -> None:
    environ = EnvironBuilder(path="/x", method="GET").get_environ()
    plain, body = started(lambda start: plain_wsgi(out, "GET", start))
    werk, werk_body = started(lambda start: _flask(out)(environ, start))
    assert plain == werk
    assert b"".join(body) == b"".join(werk_body)


@pytest.mark.parametrize(("out", "method"), [
    (HttpResponse(200, [], b"x"), "HEAD"),
    (HttpResponse(204, [], b""), "GET"),
    (HttpResponse(304, [], b""), "GET"),
    (HttpResponse(299, [], b""), "GET"),  # no phrase werkzeug knows
    (HttpResponse(200, [], iter([b"a", b"b"])), "GET"),  # a stream
    (HttpResponse(200, [("X-Evil", "a\r\nSet-Cookie: x=1")], b""), "GET"),  # refused by werkzeug
])
def test_anything_else_is_left_to_werkzeug(out: HttpResponse, method: str) -> None:
    assert plain_wsgi(out, method, lambda *a: pytest.fail("started")) is None
    if any("\n" in v for _, v in out.headers):
        with pytest.raises(ValueError, match="newline"):
            _flask(out)
