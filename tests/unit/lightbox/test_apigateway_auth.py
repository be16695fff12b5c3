"""Pure pieces of the gateway's authorization step: IAM policy evaluation, identity sources, the
result cache, CORS headers, API keys, JWT checks (against keys made here)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lightbox.apigateway.apikeys import ApiKeys, local_value
from lightbox.apigateway.authorizer_policy import BadPolicy, Verdict, evaluate, method_arn
from lightbox.apigateway.authorizers import (
    AuthRequest,
    IdentitySource,
    LambdaAuthorizers,
    ResultCache,
    identity_sources,
    identity_value,
)
from lightbox.apigateway.cors import preflight_headers, response_headers, rest_preflight
from lightbox.apigateway.gateway_responses import apply, declared
from lightbox.apigateway.jwt_auth import JwtAuthorizers, KeySets
from lightbox.apigateway.responses import HttpResponse
from lightbox.runtime.invoke import Runtime
from lightbox.stack.options import command_settings
from lightbox.template.apimodel import Authorizer, Cors
from lightbox.template.model import Template

ARN = "arn:aws:execute-api:us-east-1:000000000000:abc123/Prod/GET/pets/7"


def policy(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}


def test_policy_allow_deny_and_no_match() -> None:
    assert evaluate(policy("Allow", ARN), ARN) is Verdict.ALLOW
    assert evaluate(policy("Deny", ARN), ARN) is Verdict.DENY
    assert evaluate(policy("Allow", ARN.replace("/7", "/8")), ARN) is Verdict.NO_MATCH


def test_policy_wildcards_and_explicit_deny_wins() -> None:
    assert evaluate(policy("Allow", "arn:aws:execute-api:us-east-1:*:abc123/*/GET/*"), ARN) is Verdict.ALLOW
    assert evaluate(policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:abc123/Prod/GET/pets/?"), ARN) \
        is Verdict.ALLOW
    assert evaluate(policy("Allow", ["x", "*"], action="execute-api:*"), ARN) is Verdict.ALLOW
    assert evaluate(policy("Allow", "*", action="s3:GetObject"), ARN) is Verdict.NO_MATCH
    both = {"Statement": [policy("Allow", "*")["Statement"][0], policy("Deny", "*/GET/pets/*")["Statement"][0]]}
    assert evaluate(both, ARN) is Verdict.DENY
    single = {"Statement": {"Effect": "Allow", "Action": "EXECUTE-API:invoke", "Resource": ARN}}
    assert evaluate(single, ARN) is Verdict.ALLOW  # a single statement object; actions are case-insensitive
    assert evaluate(policy("Allow", "arn:aws:execute-api:us-east-1:000000000000:abc123/Prod/GET/[p]ets/7"),
                    ARN) is Verdict.NO_MATCH  # brackets are literal in IAM


def test_bad_policies() -> None:
    for bad in (None, {"Statement": "x"}, {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}):
        with pytest.raises(BadPolicy):
            evaluate(bad, ARN)


def test_method_arn() -> None:
    assert method_arn("us-east-1", "000000000000", "abc123", "Prod", "GET", "/pets/7") == ARN
    assert method_arn("r", "a", "i", "s", "GET", "/").endswith("i/s/GET/")


def auth_request(headers: list[tuple[str, str]] | None = None, query: list[tuple[str, str]] | None = None,
                 stage: dict[str, str] | None = None) -> AuthRequest:
    return AuthRequest("GET", "/pets/7", headers or [], query or [], stage or {}, ARN,
                       lambda version: {"requestContext": {"requestId": "r-1", "identity": {"sourceIp": "1.2.3.4"}}})


def test_identity_sources_every_kind() -> None:
    auth = Authorizer("A", "REQUEST", identity_sources=(
        "method.request.header.X-User, method.request.querystring.tok", "stageVariables.env",
        "context.identity.sourceIp", "$request.header.Other"))
    sources = identity_sources(auth)
    assert sources == [IdentitySource("header", "X-User"), IdentitySource("querystring", "tok"),
                       IdentitySource("stageVariables", "env"), IdentitySource("context", "identity.sourceIp"),
                       IdentitySource("header", "Other")]
    req = auth_request([("x-user", "ann")], [("tok", "t1")], {"env": "dev"})
    assert [identity_value(s, req) for s in sources] == ["ann", "t1", "dev", "1.2.3.4", None]
    assert identity_sources(Authorizer("T", "TOKEN")) == [IdentitySource("header", "Authorization")]


def test_result_cache_expires_with_its_clock() -> None:
    now = [100.0]
    cache = ResultCache(clock=lambda: now[0])
    cache.put(("api", "A", "tok"), 30, {"principalId": "x"})
    assert cache.get(("api", "A", "tok")) == {"principalId": "x"}
    assert cache.get(("api", "A", "other")) is None
    now[0] = 130.0
    assert cache.get(("api", "A", "tok")) is None


CORS = Cors(allow_origins=("https://a.example",), allow_methods=("GET", "POST"), allow_headers=("content-type",),
            expose_headers=("x-id",), max_age=60, allow_credentials=True)


def test_cors_preflight() -> None:
    asked = [("Origin", "https://a.example"), ("Access-Control-Request-Method", "POST"),
             ("Access-Control-Request-Headers", "content-type")]
    got = dict(preflight_headers(CORS, asked))
    assert got["Access-Control-Allow-Origin"] == "https://a.example"
    assert got["Access-Control-Allow-Methods"] == "GET,POST" and got["Access-Control-Max-Age"] == "60"
    assert got["Access-Control-Allow-Credentials"] == "true"
    assert preflight_headers(CORS, [("Origin", "https://evil.example"), *asked[1:]]) == []


def test_cors_on_responses_replaces_the_functions_own() -> None:
    given = [("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*")]
    got = response_headers(CORS, [("origin", "https://a.example")], given)
    assert ("Access-Control-Allow-Origin", "*") not in got
    assert dict(got)["Access-Control-Allow-Origin"] == "https://a.example"
    assert dict(got)["Access-Control-Expose-Headers"] == "x-id"
    star = Cors(allow_origins=("*",))
    assert dict(response_headers(star, [("Origin", "https://b.example")], []))["Access-Control-Allow-Origin"] == "*"
    assert response_headers(star, [], given) == given[:1]  # no Origin, no CORS headers


def test_rest_preflight_reads_the_mock_response() -> None:
    responses = {"default": {"statusCode": "200", "responseParameters": {
        "method.response.header.Access-Control-Allow-Origin": "'https://example.com'",
        "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'"}}}
    assert rest_preflight(responses) == (200, [("Access-Control-Allow-Origin", "https://example.com"),
                                               ("Access-Control-Allow-Methods", "GET,OPTIONS")])


def test_api_keys() -> None:
    keys = ApiKeys.from_resources([("K1", "AWS::ApiGateway::ApiKey", {"Enabled": True, "Value": "secret-1"}),
                                   ("K2", "AWS::ApiGateway::ApiKey", {"Enabled": True}),
                                   ("K3", "AWS::ApiGateway::ApiKey", {"Value": "off"})], required=True)
    assert keys.check([("X-API-Key", "secret-1")]) is None
    assert keys.check([("x-api-key", local_value("K2"))]) is None
    refused = keys.check([("x-api-key", "off")])
    assert refused is not None and refused.status == 403 and refused.body == {"message": "Forbidden"}
    assert keys.check([]) is not None
    made = ApiKeys.from_resources([], required=True)
    assert made.made_up and made.check([("x-api-key", local_value("local"))]) is None
    assert local_value("local") in made.lines()[0]


@pytest.fixture(scope="module")
def signing() -> tuple[Any, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    return key, jwk


def test_jwt_checks(tmp_path: Path, signing: tuple[Any, dict[str, Any]]) -> None:
    key, jwk = signing
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    auth = Authorizer("J", "JWT", identity_sources=("$request.header.Authorization",),
                      jwt_issuer="https://issuer.example", jwt_audience=("aud1",))
    check = JwtAuthorizers(KeySets(str(jwks)))

    def token(**claims: Any) -> AuthRequest:
        body = {"iss": "https://issuer.example", "aud": "aud1", "sub": "ann", "exp": int(time.time()) + 60,
                "scope": "read write", **claims}
        body = {k: v for k, v in body.items() if v is not None}
        raw = jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})
        return auth_request([("Authorization", f"Bearer {raw}")])

    allowed = check.authorize(auth, token(), scopes=("read",))
    assert allowed.authorizer["jwt"]["claims"]["sub"] == "ann"  # type: ignore[union-attr]
    assert allowed.authorizer["jwt"]["scopes"] == ["read", "write"]  # type: ignore[union-attr]
    expired = check.authorize(auth, token(exp=int(time.time()) - 10))
    assert expired.status == 401 and "expired" in dict(expired.headers)["www-authenticate"]  # type: ignore[union-attr]
    assert check.authorize(auth, token(aud="other")).status == 401  # type: ignore[union-attr]
    assert check.authorize(auth, token(iss="https://elsewhere")).status == 401  # type: ignore[union-attr]
    assert check.authorize(auth, token(), scopes=("admin",)).status == 403  # type: ignore[union-attr]
    assert check.authorize(auth, auth_request()).status == 401  # type: ignore[union-attr]
    by_client = check.authorize(auth, token(client_id="aud1", aud=None))  # access tokens name the client
    assert by_client.authorizer["jwt"]["claims"]["client_id"] == "aud1"  # type: ignore[union-attr]
    forged = jwt.encode({"iss": "https://issuer.example", "aud": "aud1", "exp": int(time.time()) + 60},
                        rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                        headers={"kid": "k1"})
    assert check.authorize(auth, auth_request([("Authorization", forged)])).status == 401  # type: ignore[union-attr]


def test_lambda_authorizer_refusals_that_need_no_invocation() -> None:
    template = Template(Path("."), {}, {}, {}, "us-east-1", "000000000000")
    authorizers = LambdaAuthorizers(Runtime(template, env={}))
    token = Authorizer("T", "TOKEN", function_arn="arn:aws:lambda:us-east-1:000000000000:function:gone",
                       identity_validation_expression="^Bearer .+$")
    assert authorizers.authorize(token, False, auth_request()).status == 401  # type: ignore[union-attr]
    # the token does not match the validation expression: refused without a call
    assert authorizers.authorize(token, False, auth_request([("Authorization", "x")])).status == 401  # type: ignore[union-attr]
    # no such function: API Gateway's configuration error
    missing = authorizers.authorize(token, False, auth_request([("Authorization", "Bearer x")]))
    assert (missing.status, missing.body) == (500, {"message": None})  # type: ignore[union-attr]
    http = Authorizer("H", "REQUEST", function_arn="gone", identity_sources=("$request.header.Authorization",))
    failed = authorizers.authorize(http, True, auth_request([("Authorization", "x")]))
    assert (failed.status, failed.body) == (500, {"message": "Internal Server Error"})  # type: ignore[union-attr]


def test_disable_authorizer_from_samconfig_env_and_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    args = argparse.Namespace(template=str(tmp_path / "template.yaml"), config_file=None, config_env=None)
    assert command_settings(args).disable_authorizer is False
    (tmp_path / "samconfig.toml").write_text("version = 0.1\n[default.local_start_api.parameters]\n"
                                             "disable_authorizer = true\n")
    assert command_settings(args).disable_authorizer is True
    (tmp_path / "samconfig.toml").unlink()
    monkeypatch.setenv("LIGHTBOX_DISABLE_AUTHORIZER", "1")
    assert command_settings(args).disable_authorizer is True
    monkeypatch.setenv("LIGHTBOX_DISABLE_AUTHORIZER", "0")
    assert command_settings(argparse.Namespace(**vars(args), disable_authorizer=True)).disable_authorizer is True


def test_gateway_responses_apply_to_api_gateways_own_answers_only() -> None:
    body = {"x-amazon-apigateway-gateway-responses": {
        "DEFAULT_5XX": {"responseParameters": {"gatewayresponse.header.X-A": "'five'",
                                               "gatewayresponse.header.X-Dynamic": "method.request.header.h"}},
        "THROTTLED": {"statusCode": "503", "responseParameters": {"gatewayresponse.header.X-A": "'slow'"}}}}
    found = declared("Api", "id1", [("Api", "AWS::ApiGateway::RestApi", {"Body": body}),
                                    ("R", "AWS::ApiGateway::GatewayResponse",
                                     {"RestApiId": "id1", "ResponseType": "DEFAULT_4XX",
                                      "ResponseParameters": {"gatewayresponse.header.X-A": "'four'"}}),
                                    ("R2", "AWS::ApiGateway::GatewayResponse", {"RestApiId": "other"})])
    throttled = HttpResponse(429, [("x-amzn-ErrorType", "TooManyRequestsException")], b"", from_gateway=True)
    apply(found, throttled)
    assert (throttled.status, throttled.headers[-1]) == (503, ("X-A", "slow"))
    failed = HttpResponse(502, [("x-amzn-ErrorType", "InternalServerErrorException")], b"", from_gateway=True)
    apply(found, failed)
    assert failed.headers == [("x-amzn-ErrorType", "InternalServerErrorException"), ("X-A", "five")]  # literal only
    refused = HttpResponse(403, [], b"", from_gateway=True)
    apply(found, refused)
    assert refused.headers == [("X-A", "four")]
    functions_own = HttpResponse(404, [("x-amzn-ErrorType", "NotFound")], b"")  # the integration's answer
    apply(found, functions_own)
    assert functions_own.headers == [("x-amzn-ErrorType", "NotFound")]
