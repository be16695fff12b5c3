"""CORS per declaration style (tests/apps/cors) on a real stack: preflights, simple requests and
error answers, as API Gateway answers each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from app_stack import app_stack

from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "cors" / "template.yaml"


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 5, tmp_path_factory.mktemp("lightbox")) as started:
        yield started


def preflight(stack: Stack, path: str, origin: str, headers: str = "content-type") -> requests.Response:
    return requests.options(f"{stack.url}{path}", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": headers})


def test_http_api_cors_configuration_preflight(stack: Stack) -> None:
    resp = preflight(stack, "/http/items", "https://chat.example")
    assert resp.status_code == 204  # answered by the API itself: there is no OPTIONS route
    assert resp.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert resp.headers["Access-Control-Allow-Headers"] == "content-type,x-custom"
    assert resp.headers["Access-Control-Max-Age"] == "300"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    other = preflight(stack, "/http/items", "https://evil.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_http_api_cors_on_answers_and_errors(stack: Stack) -> None:
    resp = requests.get(f"{stack.url}/http/items", headers={"Origin": "https://chat.example"}, timeout=10)
    assert resp.status_code == 200, resp.text
    # The API's headers replace the function's own Access-Control-Allow-Origin.
    assert resp.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert resp.headers["Access-Control-Expose-Headers"] == "x-request-id"
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    failed = requests.get(f"{stack.url}/http/fail", headers={"Origin": "https://chat.example"}, timeout=10)
    assert failed.status_code == 500 and failed.json() == {"message": "Internal Server Error"}
    assert failed.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    stranger = requests.get(f"{stack.url}/http/items", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in stranger.headers


def test_openapi_x_amazon_apigateway_cors(stack: Stack) -> None:
    resp = preflight(stack, "/oas/items", "https://any.example", headers="x-anything")
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Access-Control-Allow-Headers"] == "x-anything"  # allowHeaders "*" echoes the request's
    got = requests.get(f"{stack.url}/oas/items", headers={"Origin": "https://any.example"}, timeout=10)
    assert got.status_code == 200 and got.headers["Access-Control-Allow-Origin"] == "*"


def test_rest_sam_cors_is_an_options_mock_method(stack: Stack) -> None:
    resp = preflight(stack, "/rest/items", "https://anyone.example")
    # The MOCK integration's fixed headers, whatever the Origin.
    assert resp.status_code == 200, resp.text
    assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert resp.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert resp.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert resp.headers["Access-Control-Max-Age"] == "600"
    # A Lambda proxy answer carries the function's own headers only, and API Gateway's errors none.
    got = requests.get(f"{stack.url}/rest/items", headers={"Origin": "https://shop.example"}, timeout=10)
    assert got.status_code == 200 and got.headers["Access-Control-Allow-Origin"] == "https://own.example"
    missing = requests.get(f"{stack.url}/rest/nothing", headers={"Origin": "https://shop.example"}, timeout=10)
    assert missing.status_code == 403 and "Access-Control-Allow-Origin" not in missing.headers


def test_http_api_answers_every_options_itself(stack: Stack) -> None:
    bare = requests.options(f"{stack.url}/http/items", timeout=10)  # no Origin: no CORS headers, still answered
    assert bare.status_code == 204 and "Access-Control-Allow-Origin" not in bare.headers
    simple = requests.options(f"{stack.url}/http/fail", headers={"Origin": "https://chat.example"}, timeout=10)
    assert simple.status_code == 204 and simple.headers["Access-Control-Allow-Origin"] == "https://chat.example"
