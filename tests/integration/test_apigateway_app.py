"""API Gateway as AWS answers it, on tests/apps/apigateway: every way of declaring an API on one port,
the events checked against aws-lambda-powertools' models, and each of API Gateway's own answers."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from app_stack import app_stack
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel, APIGatewayProxyEventV2Model
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "apigateway" / "template.yaml"


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    """The local server HTTP_PROXY routes reach: it answers with what it was asked."""
    @Request.application
    def app(request: Request) -> Response:
        return Response(json.dumps({"path": request.path, "query": request.query_string.decode(),
                                    "method": request.method}), status=207, content_type="application/json",
                        headers={"X-Backend": "yes"})

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess, backend: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 3, tmp_path_factory.mktemp("lightbox"), bucket_events="poll",
                   retry_base=0.2, parameter_overrides={"ProxyTarget": backend}) as started:
        yield started


def event(stack: Stack, path: str, **kwargs: Any) -> dict[str, Any]:
    resp = requests.get(f"{stack.url}{path}", timeout=10, **kwargs)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def api_id(stack: Stack, name: str) -> str:
    return next(a.id for a in stack.template.apis.values() if a.name == name)


def test_openapi3_rest_api_event(stack: Stack) -> None:
    got = event(stack, "/rest3/items/7?a=1&a=2", headers={"X-Forwarded-For": "1.2.3.4"})
    APIGatewayProxyEventModel.model_validate(got)
    assert got["resource"] == "/rest3/items/{id}" and got["path"] == "/rest3/items/7"
    assert got["pathParameters"] == {"id": "7"} and got["stageVariables"] == {"color": "blue"}
    assert got["multiValueQueryStringParameters"] == {"a": ["1", "2"]} and got["queryStringParameters"] == {"a": "2"}
    assert got["headers"]["X-Forwarded-For"] == "1.2.3.4, 127.0.0.1" and got["headers"]["X-Forwarded-Proto"] == "http"
    assert got["headers"]["X-Forwarded-Port"] == stack.url.rsplit(":", 1)[1]
    ctx = got["requestContext"]
    assert (ctx["stage"], ctx["path"], ctx["resourcePath"]) == ("v1", "/v1/rest3/items/7", "/rest3/items/{id}")
    assert ctx["apiId"] == api_id(stack, "Rest3") and ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["operationName"] == "GetItem"  # the operation's operationId
    assert "version" not in got and got["body"] is None


def test_a_routes_trace_header_reaches_its_function_and_the_emulators_endpoints_stay(stack: Stack) -> None:
    # Template routes take the gateway's short way past Flask; what Flask's hook did (the trace id)
    # still happens, and the emulator's own endpoints are still Flask's.
    trace = "Root=1-5e1b4151-5ac6c58dc39a9d7b4c5d3e2f"
    seen = requests.get(f"{stack.url}/http/x?mode=trace", headers={"X-Amzn-Trace-Id": trace}, timeout=10)
    assert seen.status_code == 200 and seen.json() == {"trace": trace}
    fresh = requests.get(f"{stack.url}/http/x?mode=trace", timeout=10).json()["trace"]
    assert fresh.startswith("Root=1-") and fresh != trace  # a new one per request, none left over
    health = requests.get(f"{stack.url}/_lightbox/health", timeout=10)
    assert health.status_code == 200 and health.json()["functions"] == ["Consumer", "Echo", "HttpEcho"]


def test_route_precedence_exact_then_parameter_then_greedy(stack: Stack) -> None:
    assert event(stack, "/rest3/items/special")["resource"] == "/rest3/items/special"
    assert event(stack, "/rest3/items/8")["resource"] == "/rest3/items/{id}"
    greedy = event(stack, "/rest3/a/b/c")
    assert greedy["resource"] == "/rest3/{proxy+}" and greedy["pathParameters"] == {"proxy": "a/b/c"}


def test_each_api_at_its_execute_api_address_with_the_stage_in_the_path(stack: Stack) -> None:
    host = f"{api_id(stack, 'Rest3')}.execute-api.localhost:{stack.url.rsplit(':', 1)[1]}"
    got = event(stack, "/v1/rest3/items/7", headers={"Host": host})
    assert got["path"] == "/rest3/items/7" and got["requestContext"]["path"] == "/v1/rest3/items/7"
    missing = requests.get(f"{stack.url}/rest3/items/7", headers={"Host": host}, timeout=5)
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})


def test_swagger2_through_aws_include_and_binary_media_types(stack: Stack) -> None:
    assert event(stack, "/sw2/pets/3")["resource"] == "/sw2/pets/{petId}"
    raw = bytes(range(256))
    got = requests.post(f"{stack.url}/sw2/upload", data=raw, headers={"Content-Type": "application/octet-stream"},
                        timeout=5).json()
    assert got["isBase64Encoded"] is True and base64.b64decode(got["body"]) == raw
    text = requests.post(f"{stack.url}/sw2/upload", data=b"plain", headers={"Content-Type": "text/plain"},
                         timeout=5).json()
    assert (text["isBase64Encoded"], text["body"]) == (False, "plain")


def test_binary_responses_decoded_only_for_the_apis_binary_media_types(stack: Stack) -> None:
    png = requests.get(f"{stack.url}/rest3/items/1?mode=binary", headers={"Accept": "image/png"}, timeout=5)
    assert png.content == b"\x89PNG\r\n\x1a\n\x00\xff" and png.headers["Content-Type"] == "image/png"
    kept = requests.get(f"{stack.url}/sw2/pets/1?mode=binary", timeout=5)  # image/png is not Swagger2's type
    assert kept.text == base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()


def test_definition_uri_file(stack: Stack) -> None:
    assert event(stack, "/file/hello")["requestContext"]["stage"] == "files"


def test_raw_rest_api_resources_and_stage(stack: Stack) -> None:
    got = event(stack, "/raw/5")
    APIGatewayProxyEventModel.model_validate(got)
    assert got["resource"] == "/raw/{id}" and got["stageVariables"] == {"tier": "raw"}
    assert got["requestContext"]["stage"] == "dev"
    for method, path in (("GET", "/raw"), ("POST", "/raw/5"), ("GET", "/raw/5/more")):
        resp = requests.request(method, f"{stack.url}{path}", timeout=5)
        assert (resp.status_code, resp.json()) == (403, {"message": "Missing Authentication Token"})
        assert resp.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_raw_http_api_route_integration_stage(stack: Stack) -> None:
    got = event(stack, "/v2/things/9?x=1&x=2", headers={"Cookie": "a=1; b=2", "X-Mixed-Case": "v"})
    APIGatewayProxyEventV2Model.model_validate(got)
    assert got["routeKey"] == "GET /v2/things/{id}" and got["pathParameters"] == {"id": "9"}
    assert got["rawQueryString"] == "x=1&x=2" and got["queryStringParameters"] == {"x": "1,2"}
    assert got["cookies"] == ["a=1", "b=2"] and got["headers"]["x-mixed-case"] == "v"
    assert got["stageVariables"] == {"tier": "v2"} and got["requestContext"]["stage"] == "$default"
    resp = requests.post(f"{stack.url}/v2/things/9", timeout=5)
    assert (resp.status_code, resp.json()) == (404, {"message": "Not Found"})


def test_quick_create_http_api(stack: Stack) -> None:
    got = requests.post(f"{stack.url}/quick", json={"k": 1}, timeout=5).json()
    APIGatewayProxyEventV2Model.model_validate(got)
    assert got["routeKey"] == "POST /quick" and json.loads(got["body"]) == {"k": 1}
    assert got["requestContext"]["apiId"] == api_id(stack, "Quick")


def test_several_apis_on_one_port_a_path_one_api_owns_never_falls_into_another(stack: Stack) -> None:
    caught = event(stack, "/not/declared/anywhere")
    APIGatewayProxyEventV2Model.model_validate(caught)
    assert caught["routeKey"] == "$default" and caught["requestContext"]["apiId"] == api_id(stack, "QuickDefault")
    owned = requests.get(f"{stack.url}/raw/5/more", timeout=5)  # RawRest's path: its 403, not the $default
    assert (owned.status_code, owned.json()) == (403, {"message": "Missing Authentication Token"})


def test_sam_http_api_payloads_and_named_stage(stack: Stack) -> None:
    v2 = event(stack, "/http/bob")
    APIGatewayProxyEventV2Model.model_validate(v2)
    assert v2["rawPath"] == "/hs/http/bob" and v2["requestContext"]["stage"] == "hs"
    assert v2["stageVariables"] == {"color": "green"}
    v1 = event(stack, "/http1/bob")
    APIGatewayProxyEventModel.model_validate(v1)
    assert v1["version"] == "1.0" and v1["pathParameters"] == {"name": "bob"}
    assert v1["requestContext"]["stage"] == "hs"


def test_headers_and_multi_value_headers_merged(stack: Stack) -> None:
    resp = requests.get(f"{stack.url}/rest3/items/1?mode=headers", timeout=5)
    assert resp.headers["X-One"] == "a" and resp.headers["X-Many"] == "1, 2"
    assert resp.headers["X-Both"] == "m1, m2, single"


@pytest.mark.parametrize(("path", "status", "body"), [
    ("/rest3/items/1?mode=raise", 502, {"message": "Internal server error"}),
    ("/rest3/items/1?mode=malformed", 502, {"message": "Internal server error"}),
    # A function that times out on its own is a function error; the gateway's own timeout is 504 / 503.
    ("/rest3/items/1?mode=sleep", 502, {"message": "Internal server error"}),
    ("/rest3/slow?mode=sleep", 504, {"message": "Endpoint request timed out"}),
    ("/http/x?mode=raise", 500, {"message": "Internal Server Error"}),
    ("/http/x?mode=malformed", 500, {"message": "Internal Server Error"}),
    ("/http/x?mode=sleep", 500, {"message": "Internal Server Error"}),
    ("/v2/slow?mode=sleep", 503, {"message": "Service Unavailable"}),
])
def test_lambda_failures_as_each_api_type_answers_them(stack: Stack, path: str, status: int,
                                                        body: dict[str, str]) -> None:
    resp = requests.get(f"{stack.url}{path}", timeout=10)
    assert (resp.status_code, resp.json()) == (status, body)


@pytest.mark.parametrize(("path", "body"), [
    ("/rest3/items/1", {"message": "Request Too Long"}), ("/v2/things/1", {"message": "Request Entity Too Large"})])
def test_over_ten_megabytes_is_refused(stack: Stack, path: str, body: dict[str, str]) -> None:
    resp = requests.post(f"{stack.url}{path}", data=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert (resp.status_code, resp.json()) == (413, body)


def test_mock_integration(stack: Stack) -> None:
    resp = requests.get(f"{stack.url}/rest3/mock", timeout=5)
    assert (resp.status_code, resp.json(), resp.headers["X-Mock"]) == (200, {"mocked": True}, "yes")


def test_http_proxy_to_a_local_url(stack: Stack) -> None:
    resp = requests.get(f"{stack.url}/rest3/proxied/a/b?q=1", timeout=5)
    assert resp.status_code == 207 and resp.headers["X-Backend"] == "yes"
    assert resp.json() == {"path": "/backend/a/b", "query": "q=1", "method": "GET"}


def _received(stack: Stack, n: int) -> list[str]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        got = [b.decode() for b in stack.connection.lrange("apigw:sqs", 0, -1)]
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"the queue's function got {stack.connection.lrange('apigw:sqs', 0, -1)}")


def test_sqs_integrations_deliver_to_the_queue_function(stack: Stack) -> None:
    stack.connection.delete("apigw:sqs")
    rest = requests.post(f"{stack.url}/rest3/queue", json={"n": 1}, timeout=5)
    assert rest.status_code == 200 and rest.json()["SendMessageResponse"]["SendMessageResult"]["MessageId"]
    assert _received(stack, 1) == ['{"n": 1}']
    http = requests.post(f"{stack.url}/hq/send", json={"message": "hi"}, timeout=5)
    assert http.status_code == 200
    assert _received(stack, 2) == ['{"n": 1}', "hi"]
