from __future__ import annotations

import base64
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from lightbox.apigateway.events import EventInput, HttpRequest, build_event
from lightbox.apigateway.gateway import _integrate
from lightbox.apigateway.hooks import Call
from lightbox.apigateway.responses import BadLambdaResponse, build_response
from lightbox.apigateway.routing import Match, RouteTable
from lightbox.runtime.invoke import Invocation, Runtime
from lightbox.template.apimodel import HTTP, REST, Api, Integration, Route
from lightbox.template.model import Function, Template
from lightbox.template.openapi import read_body


def api(*routes: tuple[str, str], kind: str = HTTP, version: str = "2.0", name: str = "a") -> Api:
    integ = Integration("AWS_PROXY", payload_version=version)
    return Api(name, name, kind, "$default" if kind == HTTP else "Prod",
               routes=[Route(m, "/{proxy+}" if p == "$default" else p, integ, function=f"{m} {p}",
                             default=p == "$default") for m, p in routes])


def table(*routes: tuple[str, str]) -> RouteTable:
    return RouteTable([api(*routes)])


def fn(m: Match | None) -> str:
    assert m is not None and m.route is not None
    return m.route.function


def test_most_specific_route_wins() -> None:
    t = table(("ANY", "/{proxy+}"), ("GET", "/photos/{id}"), ("GET", "/photos/recent"), ("ANY", "/photos/{id}"))
    assert fn(t.select("GET", "/photos/recent")) == "GET /photos/recent"
    m = t.select("GET", "/photos/42")
    assert fn(m) == "GET /photos/{id}" and m is not None and m.path_parameters == {"id": "42"}
    assert fn(t.select("DELETE", "/photos/42")) == "ANY /photos/{id}"
    m = t.select("GET", "/a/b/c")
    assert m is not None and m.path_parameters == {"proxy": "a/b/c"}


def test_no_route_and_wrong_method_select_the_api_without_a_route() -> None:
    t = table(("GET", "/photos"))
    for method, path in (("GET", "/other"), ("POST", "/photos")):
        m = t.select(method, path)
        assert m is not None and m.route is None and m.api.id == "a"
    assert RouteTable([]).select("GET", "/") is None


def test_http_api_default_route_answers_only_what_nothing_else_does() -> None:
    t = table(("GET", "/x/{id}"), ("ANY", "$default"))
    assert fn(t.select("GET", "/x/1")) == "GET /x/{id}"
    assert fn(t.select("POST", "/x/1")) == "ANY $default"


def test_a_path_one_api_owns_never_falls_into_another_apis_proxy() -> None:
    t = RouteTable([api(("ANY", "/{proxy+}"), name="one"), api(("GET", "/users/{id}"), name="two", kind=REST)])
    m = t.select("GET", "/users/1/extra")
    assert m is not None and m.api.id == "two" and m.route is None
    assert fn(t.select("GET", "/users/1")) == "GET /users/{id}"
    assert fn(t.select("GET", "/elsewhere")) == "ANY /{proxy+}"


def test_apis_claiming_the_same_path_the_more_specific_route_wins() -> None:
    # CDK output with two REST APIs on `/`: one's `ANY /` MOCK, the other's `OPTIONS /` (its CORS preflight).
    t = RouteTable([api(("ANY", "/"), name="books", kind=REST), api(("GET", "/"), ("OPTIONS", "/"), name="cors",
                                                                    kind=REST)])
    m = t.select("OPTIONS", "/")
    assert m is not None and m.api.id == "cors" and fn(m) == "OPTIONS /"
    m = t.select("DELETE", "/")
    assert m is not None and m.api.id == "books" and fn(m) == "ANY /"


def test_execute_api_host_with_the_stage_in_the_path() -> None:
    rest = api(("GET", "/hello"), kind=REST, version="1.0", name="abc123")
    t = RouteTable([rest])
    m = t.select("GET", "/Prod/hello", "abc123.execute-api.localhost:3000")
    assert m is not None and m.route is not None and m.stage_path == "/Prod"
    m = t.select("GET", "/hello", "abc123.execute-api.localhost:3000")
    assert m is not None and m.route is None


def request(body: bytes = b"", content_type: str = "") -> HttpRequest:
    headers = [("Cookie", "a=1; b=2"), ("X-Multi", "1"), ("X-Multi", "2")]
    if content_type:
        headers.append(("Content-Type", content_type))
    return HttpRequest("POST", "/photos/7", "x=1&x=2", headers, [("x", "1"), ("x", "2")], body, "10.0.0.1", "h:3000",
                       port="3000")


def event_of(a: Api, req: HttpRequest, params: dict[str, str] | None = None) -> dict[str, object]:
    return build_event(req, EventInput(a, a.routes[0], params or {"id": "7"}), "000000000000")


def test_payload_v2_shape() -> None:
    event = event_of(api(("POST", "/photos/{id}")), request(b'{"a": 1}', "application/json"))
    assert event["routeKey"] == "POST /photos/{id}" and event["pathParameters"] == {"id": "7"}
    headers = event["headers"]
    assert isinstance(headers, dict)
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in headers
    assert headers["x-multi"] == "1,2" and event["queryStringParameters"] == {"x": "1,2"}
    assert headers["x-forwarded-port"] == "3000" and headers["x-forwarded-proto"] == "http"
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False


def test_binary_body_is_base64_on_http_apis_and_for_rest_binary_media_types_only() -> None:
    event = event_of(api(("POST", "/photos/{id}")), request(b"\xff\xd8\xff", "image/jpeg"))
    assert event["isBase64Encoded"] is True and base64.b64decode(str(event["body"])) == b"\xff\xd8\xff"
    rest = api(("POST", "/photos/{id}"), kind=REST, version="1.0")
    assert event_of(rest, request(b"ab", "image/jpeg"))["isBase64Encoded"] is False
    rest.binary_media_types = ("image/*",)
    assert event_of(rest, request(b"ab", "image/jpeg"))["body"] == "YWI="


def test_payload_v1_shape() -> None:
    rest = api(("POST", "/photos/{id}"), kind=REST, version="1.0")
    rest.stage_variables = {"v": "1"}
    event = event_of(rest, request())
    assert event["httpMethod"] == "POST" and event["resource"] == "/photos/{id}" and "version" not in event
    multi = event["multiValueHeaders"]
    assert isinstance(multi, dict) and multi["X-Multi"] == ["1", "2"] and multi["X-Forwarded-Proto"] == ["http"]
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]} and event["body"] is None
    context = event["requestContext"]
    assert isinstance(context, dict) and context["stage"] == "Prod" and context["path"] == "/Prod/photos/7"
    assert event["stageVariables"] == {"v": "1"}


def test_http_api_payload_1_says_its_version() -> None:
    assert event_of(api(("POST", "/photos/{id}"), version="1.0"), request())["version"] == "1.0"


def test_response_mapping() -> None:
    out = build_response({"statusCode": 201, "headers": {"a": "b"}, "cookies": ["c=1", "d=2"],
                          "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, "2.0")
    assert out.status == 201 and out.body == b"\x00\x01"
    assert ("Set-Cookie", "c=1") in out.headers and ("Set-Cookie", "d=2") in out.headers
    inferred = build_response({"hello": "world"}, "2.0")
    assert inferred.status == 200 and inferred.body == b'{"hello": "world"}'
    streamed = build_response({"statusCode": 200, "body": iter(["a", b"b"])}, "2.0")
    assert not isinstance(streamed.body, bytes) and list(streamed.body) == [b"a", b"b"]
    kept = build_response({"statusCode": 200, "body": "AAE=", "isBase64Encoded": True}, "1.0", decode_base64=False)
    assert kept.body == b"AAE="


def test_payload_2_ignores_keys_it_does_not_know() -> None:
    out = build_response({"statusCode": 201, "body": "x", "key": "value"}, "2.0")
    assert (out.status, out.body) == (201, b"x")


@pytest.mark.parametrize("bad", [{"hello": 1}, "text", {"statusCode": "abc"}, {"statusCode": 200, "body": {"x": 1}},
                                 {"statusCode": 200, "extra": 1}])
def test_malformed_v1_responses_are_rejected(bad: object) -> None:
    with pytest.raises(BadLambdaResponse):
        build_response(bad, "1.0")


def test_headers_and_multi_value_headers_merge_and_number_bodies_become_text() -> None:
    out = build_response({"statusCode": 200, "body": 42, "headers": {"X": "single", "Y": "y", "Z": "1"},
                          "multiValueHeaders": {"X": ["1", "2"], "Z": ["1", "2"]}}, "1.0")
    assert out.body == b"42"
    assert [v for k, v in out.headers if k == "X"] == ["1", "2", "single"] and ("Y", "y") in out.headers
    assert [v for k, v in out.headers if k == "Z"] == ["1", "2"]


class TooManyRequestsException(Exception):
    """What the runtime raises when a function is throttled (its name is the error type)."""


def test_throttled_and_failed_invocations_map_to_api_gateways_answers() -> None:
    for kind, error, status in ((REST, TooManyRequestsException("Rate Exceeded."), 429),
                                (HTTP, TooManyRequestsException("Rate Exceeded."), 429),
                                (REST, ValueError("boom"), 502), (HTTP, ValueError("boom"), 500)):
        runtime = MagicMock(spec=Runtime)
        runtime.template = MagicMock(spec=Template)
        runtime.template.account_id = "000000000000"
        runtime.template.function.return_value = Function("f", "app.h", Path("."), "python3.12", 3, 128, {}, [])
        runtime.invoke.return_value = Invocation("f", "id", error=error)
        a = api(("GET", "/x"), kind=kind, version="2.0" if kind == HTTP else "1.0")
        out = _integrate(Call(runtime, a, a.routes[0], request()), None)
        assert out.status == status
        assert out.body in (b'{"message":"Too Many Requests"}', b'{"message": "Internal server error"}',
                            b'{"message":"Internal Server Error"}')


def test_the_model_carries_authorizers_api_keys_and_cors() -> None:
    body = {
        "openapi": "3.0.1",
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://a.example"], "allowMethods": ["GET"], "maxAge": 60},
        "components": {"securitySchemes": {
            "Tok": {"type": "apiKey", "in": "header", "name": "Authorization", "x-amazon-apigateway-authorizer": {
                "type": "request", "identitySource": "$request.header.Authorization",
                "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                                 "arn:aws:lambda:us-east-1:1:function:auth/invocations",
                "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": True,
                "authorizerResultTtlInSeconds": 300}},
            "api_key": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
        "paths": {"/p": {"get": {"security": [{"Tok": []}, {"api_key": []}], "x-amazon-apigateway-integration": {
            "type": "aws_proxy", "payloadFormatVersion": "2.0",
            "uri": "arn:aws:lambda:us-east-1:1:function:fn"}}}},
    }
    found = read_body(body, http_api=True)
    auth = found.authorizers["Tok"]
    assert (auth.type, auth.function_arn, auth.identity_sources, auth.ttl_seconds, auth.simple_responses) == (
        "REQUEST", "arn:aws:lambda:us-east-1:1:function:auth", ("$request.header.Authorization",), 300, True)
    route = found.routes[0]
    assert (route.authorization_type, route.authorizer, route.api_key_required) == ("CUSTOM", "Tok", True)
    assert found.cors is not None and found.cors.allow_origins == ("https://a.example",) and found.cors.max_age == 60
