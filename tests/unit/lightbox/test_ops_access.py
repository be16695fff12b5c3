"""The operator endpoints behind LIGHTBOX_OPERATOR_TOKEN (lightbox/ops/access.py)."""

from __future__ import annotations

import base64

from flask import Flask

from lightbox.ops import access


def app(token: str | None) -> Flask:
    flask = Flask("t")
    flask.add_url_rule("/_lightbox/rq/queues", "rq", lambda: "queues")
    flask.add_url_rule("/metrics", "metrics", lambda: "counts")
    flask.add_url_rule("/health", "health", lambda: "ok")
    access.protect(flask, token, [*access.OPERATOR_PATHS, "/metrics"])
    return flask


def test_operator_paths_want_the_token_as_bearer_or_basic_password() -> None:
    client = app("s3cret").test_client()
    refused = client.get("/_lightbox/rq/queues")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).data == b"counts"
    basic = base64.b64encode(b"admin:s3cret").decode()
    assert client.get("/_lightbox/rq/queues", headers={"Authorization": f"Basic {basic}"}).data == b"queues"
    assert client.get("/health").data == b"ok"  # health checks need no token


def test_without_a_token_nothing_is_guarded() -> None:
    assert app(None).test_client().get("/_lightbox/rq/queues").data == b"queues"
