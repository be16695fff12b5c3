"""Authorizers and API keys (tests/apps/authorizers) on a real stack: real HTTP requests, the
authorizer functions run by the runtime, their calls counted in Redis. Authorizer events are
checked against aws-lambda-powertools' parser models."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from app_stack import app_stack
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerRequest,
    ApiGatewayAuthorizerRequestV2,
    ApiGatewayAuthorizerToken,
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
)

from lightbox.apigateway.access import api_keys
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack
from lightbox.testing.jwt_issuer import JwtIssuer
from lightbox.testing.up import start_up

APP = Path(__file__).resolve().parents[1] / "apps" / "authorizers" / "template.yaml"
KEY = "shop-key-0123456789-abcdefghij"


@pytest.fixture(scope="module")
def issuer() -> Iterator[JwtIssuer]:
    with JwtIssuer(audience="lightbox-tests") as found:
        yield found


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess, issuer: JwtIssuer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 4, tmp_path_factory.mktemp("lightbox"),
                   parameter_overrides={"Issuer": issuer.url}) as started:
        yield started


@pytest.fixture
def calls(stack: Stack) -> Iterator[redis.Redis]:
    conn = stack.connection
    for key in conn.keys("authorizers:*"):
        conn.delete(key)
    yield conn


def count(conn: redis.Redis, name: str) -> int:
    return int(conn.get(f"authorizers:{name}") or 0)


def last_event(conn: redis.Redis, name: str) -> dict[str, Any]:
    return json.loads(conn.get(f"authorizers:{name}:event") or "{}")  # type: ignore[arg-type]


def get(stack: Stack, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{stack.url}{path}", headers=headers, timeout=10)


def test_token_authorizer_allows_with_its_context(stack: Stack, calls: redis.Redis) -> None:
    resp = get(stack, "/orders/1", Authorization="allow-ann")
    assert resp.status_code == 200, resp.text
    assert "Access-Control-Allow-Origin" not in resp.headers  # the function's answer: its own headers only
    event = resp.json()
    APIGatewayProxyEventModel.model_validate(event)
    # REST passes the context as strings, with principalId and the integration latency.
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "ann" and authorizer["user"] == "ann"
    assert authorizer["level"] == "3" and authorizer["admin"] == "false"
    token_event = last_event(calls, "token")
    ApiGatewayAuthorizerToken.model_validate(token_event)
    assert token_event["authorizationToken"] == "allow-ann"
    assert token_event["methodArn"].endswith("/dev/GET/orders/1")


def test_token_authorizer_refusals(stack: Stack, calls: redis.Redis) -> None:
    missing = get(stack, "/orders/1")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    # GatewayResponses: UNAUTHORIZED's headers, DEFAULT_4XX's on the other refusals
    assert missing.headers["WWW-Authenticate"] == "Bearer realm=shop"
    assert missing.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert count(calls, "token") == 0  # no token: the authorizer is not asked
    unauthorized = get(stack, "/orders/1", Authorization="nobody")
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "Unauthorized"})
    deny = get(stack, "/orders/1", Authorization="deny")
    assert deny.status_code == 403 and deny.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "WWW-Authenticate" not in deny.headers
    assert deny.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    broken = get(stack, "/orders/1", Authorization="broken")
    assert broken.status_code == 500 and broken.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    assert "Access-Control-Allow-Origin" not in broken.headers  # no DEFAULT_5XX declared
    crash = get(stack, "/orders/1", Authorization="crash")
    assert (crash.status_code, crash.json()) == (500, {"message": None})


def test_token_results_are_cached_and_the_cached_policy_applies_per_path(stack: Stack, calls: redis.Redis) -> None:
    for _ in range(3):
        assert get(stack, "/orders/1", Authorization="orders-only").status_code == 200
    assert count(calls, "token") == 1  # ReauthorizeEvery: 300
    # The cached policy allows only /orders/1: another path is denied without asking again, as on AWS.
    other = get(stack, "/orders/2", Authorization="orders-only")
    assert other.status_code == 403
    assert other.json() == {"Message": "User is not authorized to access this resource"}
    assert count(calls, "token") == 1
    assert get(stack, "/orders/1", Authorization="allow-bob").status_code == 200
    assert count(calls, "token") == 2  # another token, another call


def test_request_authorizer_reads_header_and_query_and_is_not_cached(stack: Stack, calls: redis.Redis) -> None:
    ok = requests.get(f"{stack.url}/tenant?tenant=acme", headers={"X-User": "ann"}, timeout=10)
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["authorizer"]["tenant"] == "acme"
    assert requests.get(f"{stack.url}/tenant?tenant=acme", headers={"X-User": "ann"}, timeout=10).ok
    assert count(calls, "request") == 2  # ReauthorizeEvery: 0
    event = last_event(calls, "request")
    ApiGatewayAuthorizerRequest.model_validate(event)
    assert event["type"] == "REQUEST" and event["methodArn"].endswith("/dev/GET/tenant")
    denied = requests.get(f"{stack.url}/tenant?tenant=other", headers={"X-User": "ann"}, timeout=10)
    assert denied.status_code == 403
    no_query = requests.get(f"{stack.url}/tenant", headers={"X-User": "ann"}, timeout=10)
    assert (no_query.status_code, no_query.json()) == (401, {"message": "Unauthorized"})
    assert count(calls, "request") == 3


def test_api_key_required(stack: Stack, calls: redis.Redis) -> None:
    missing = get(stack, "/keyed")
    assert (missing.status_code, missing.json()) == (403, {"message": "Forbidden"})
    assert get(stack, "/keyed", **{"x-api-key": "wrong"}).status_code == 403
    ok = get(stack, "/keyed", **{"x-api-key": KEY})
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["identity"]["apiKey"] == KEY
    assert get(stack, "/open").status_code == 200  # Authorizer: NONE opts out of the default


def test_http_api_simple_responses(stack: Stack, calls: redis.Redis) -> None:
    ok = get(stack, "/messages", Authorization="letmein")
    assert ok.status_code == 200, ok.text
    event = ok.json()
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["requestContext"]["authorizer"]["lambda"] == {"user": "ann", "tier": 2}
    ApiGatewayAuthorizerRequestV2.model_validate(last_event(calls, "simple"))
    assert last_event(calls, "simple")["identitySource"] == ["letmein"]
    no = get(stack, "/messages", Authorization="nope")
    assert (no.status_code, no.json()) == (403, {"message": "Forbidden"})
    assert (get(stack, "/messages").status_code, count(calls, "simple")) == (401, 2)
    get(stack, "/messages", Authorization="letmein")
    assert count(calls, "simple") == 2  # cached for 60 s


def test_jwt_authorizer(stack: Stack, issuer: JwtIssuer) -> None:
    token = issuer.token(scope="profile.read email", sub="ann")
    ok = get(stack, "/profile", Authorization=f"Bearer {token}")
    assert ok.status_code == 200, ok.text
    event = ok.json()
    APIGatewayProxyEventV2Model.model_validate(event)
    jwt_context = event["requestContext"]["authorizer"]["jwt"]
    assert jwt_context["claims"]["sub"] == "ann" and "profile.read" in jwt_context["scopes"]
    expired = get(stack, "/profile", Authorization=f"Bearer {issuer.token(expires_in=-60, scope='profile.read')}")
    assert (expired.status_code, expired.json()) == (401, {"message": "Unauthorized"})
    assert "expired" in expired.headers["www-authenticate"]
    wrong_audience = get(stack, "/profile", Authorization=f"Bearer {issuer.token(aud='other', scope='profile.read')}")
    assert wrong_audience.status_code == 401
    no_scope = get(stack, "/profile", Authorization=f"Bearer {issuer.token(scope='email')}")
    assert (no_scope.status_code, no_scope.json()) == (403, {"message": "Forbidden"})
    assert get(stack, "/profile").status_code == 401


def test_http_api_payload_1_policy_authorizer(stack: Stack, calls: redis.Redis) -> None:
    ok = get(stack, "/legacy", **{"X-User": "ann"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["authorizer"]["lambda"] == {"team": "blue", "principalId": "ann"}
    event = last_event(calls, "policy")
    ApiGatewayAuthorizerRequest.model_validate(event)
    assert event["version"] == "1.0" and event["identitySource"] == "ann"
    denied = get(stack, "/legacy", **{"X-User": "bob"})
    assert (denied.status_code, denied.json()) == (403, {"message": "Forbidden"})


def test_disable_authorizer_through_lightbox_up(tmp_path: Path) -> None:
    up = start_up(tmp_path, ["-t", str(APP), "-w", "1", "--bucket-events", "off", "--disable-authorizer"])
    try:
        assert requests.get(f"{up.url}/orders/1", timeout=10).status_code == 200  # no token, no authorizer
        assert requests.get(f"{up.url}/keyed", timeout=10).status_code == 200  # no API key either
        deadline = time.monotonic() + 30  # up writes its state file just before it prints
        while "Ctrl-C stops everything." not in up.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        printed = up.log_path.read_text()
        assert f"API key ShopKey: {KEY}" in printed
        assert "authorizers and API keys are off (--disable-authorizer)" in printed
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]


def test_raw_cloudformation_authorizer_and_a_made_up_api_key(redis_server: ManagedProcess, s3_server: ManagedProcess,
                                                            tmp_path: Path) -> None:
    with app_stack(APP.parent / "raw.yaml", redis_server, s3_server, 8, tmp_path) as raw:
        conn = raw.connection
        key = api_keys(raw.template)
        assert key.made_up  # no AWS::ApiGateway::ApiKey: one local key, printed by up
        (made_up,) = key.keys
        # The token does not match IdentityValidationExpression: refused without calling the authorizer.
        assert get(raw, "/things", Authorization="nobody", **{"x-api-key": made_up}).status_code == 401
        assert count(conn, "token") == 0
        assert get(raw, "/things", Authorization="allow-ann").status_code == 403  # no key
        gone = get(raw, "/elsewhere")  # an AWS::ApiGateway::GatewayResponse changes API Gateway's own answer
        assert (gone.status_code, gone.headers["x-shop"]) == (404, "not here")
        assert gone.json() == {"message": "Missing Authentication Token"}
        ok = get(raw, "/things", Authorization="allow-ann", **{"x-api-key": made_up})
        assert ok.status_code == 200, ok.text
        assert ok.json()["requestContext"]["authorizer"]["principalId"] == "ann"
        assert count(conn, "token") == 1
