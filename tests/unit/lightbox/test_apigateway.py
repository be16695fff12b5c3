from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lightbox.apigateway.events import HttpRequest, build_event
from lightbox.apigateway.responses import BadLambdaResponse, build_response
from lightbox.apigateway.routing import RouteTable
from lightbox.template.model import Function, HttpRoute


def fn(name: str) -> Function:
    return Function(name, "app.handler", Path("."), "python3.11", 3, 128, {}, [])


def table(*routes: tuple[str, str]) -> RouteTable:
    return RouteTable((fn(f"{m} {p}"), HttpRoute(m, p, "2.0", "E")) for m, p in routes)


def test_most_specific_route_wins() -> None:
    t = table(("ANY", "/{proxy+}"), ("GET", "/photos/{id}"), ("GET", "/photos/recent"), ("ANY", "/photos/{id}"))
    assert t.match("GET", "/photos/recent").function.name == "GET /photos/recent"  # type: ignore[union-attr]
    m = t.match("GET", "/photos/42")
    assert m.function.name == "GET /photos/{id}" and m.path_parameters == {"id": "42"}  # type: ignore[union-attr]
    assert t.match("DELETE", "/photos/42").function.name == "ANY /photos/{id}"  # type: ignore[union-attr]
    assert t.match("GET", "/a/b/c").path_parameters == {"proxy": "a/b/c"}  # type: ignore[union-attr]


def test_no_route_and_wrong_method() -> None:
    t = table(("GET", "/photos"))
    assert t.match("GET", "/other") is None
    assert t.match("POST", "/photos") == "method"


def request(body: bytes = b"", content_type: str = "") -> HttpRequest:
    headers = [("Cookie", "a=1; b=2"), ("X-Multi", "1"), ("X-Multi", "2")]
    if content_type:
        headers.append(("Content-Type", content_type))
    return HttpRequest("POST", "/photos/7", "x=1&x=2", headers, [("x", "1"), ("x", "2")], body, "10.0.0.1", "h:3000")


def test_payload_v2_shape() -> None:
    m = table(("POST", "/photos/{id}")).match("POST", "/photos/7")
    event = build_event(request(b'{"a": 1}', "application/json"), m, "us-east-1", "000000000000")  # type: ignore[arg-type]
    assert event["routeKey"] == "POST /photos/{id}" and event["pathParameters"] == {"id": "7"}
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2" and event["queryStringParameters"] == {"x": "1,2"}
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["sourceIp"] == "10.0.0.1"


def test_binary_body_is_base64() -> None:
    m = table(("POST", "/photos/{id}")).match("POST", "/photos/7")
    event = build_event(request(b"\xff\xd8\xff", "image/jpeg"), m, "us-east-1", "0")  # type: ignore[arg-type]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xd8\xff"


def test_payload_v1_shape() -> None:
    t = RouteTable([(fn("f"), HttpRoute("POST", "/photos/{id}", "1.0", "E"))])
    event = build_event(request(), t.match("POST", "/photos/7"), "us-east-1", "0")  # type: ignore[arg-type]
    assert event["httpMethod"] == "POST" and event["resource"] == "/photos/{id}"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]} and event["body"] is None


def test_response_mapping() -> None:
    out = build_response({"statusCode": 201, "headers": {"a": "b"}, "cookies": ["c=1", "d=2"],
                          "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, "2.0")
    assert out.status == 201 and out.body == b"\x00\x01"
    assert ("Set-Cookie", "c=1") in out.headers and ("Set-Cookie", "d=2") in out.headers
    inferred = build_response({"hello": "world"}, "2.0")
    assert inferred.status == 200 and inferred.body == b'{"hello": "world"}'
    streamed = build_response({"statusCode": 200, "body": iter(["a", b"b"])}, "2.0")
    assert list(streamed.body) == [b"a", b"b"]


@pytest.mark.parametrize("bad", [{"hello": 1}, "text", {"statusCode": "abc"}, {"statusCode": 200, "body": {"x": 1}}])
def test_malformed_v1_responses_are_rejected(bad: object) -> None:
    with pytest.raises(BadLambdaResponse):
        build_response(bad, "1.0")


def test_multi_value_headers_win_and_number_bodies_become_text() -> None:
    out = build_response({"statusCode": 200, "body": 42, "headers": {"X": "single", "Y": "y"},
                          "multiValueHeaders": {"X": ["1", "2"]}}, "1.0")
    assert out.body == b"42"
    assert [v for k, v in out.headers if k == "X"] == ["1", "2"] and ("Y", "y") in out.headers
