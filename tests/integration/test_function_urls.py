"""Function URLs (tests/apps/function-urls) on a real stack: each on its own port, the event as
Lambda sends it (checked against powertools' LambdaFunctionUrlModel), CORS, a streamed answer,
AWS_IAM accepted with a line, and !GetAtt Url.FunctionUrl giving the local URL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from app_stack import app_stack
from aws_lambda_powertools.utilities.parser.models import LambdaFunctionUrlModel

from lightbox import config
from lightbox.config import Settings
from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack
from lightbox.template.loader import load_for
from lightbox.testing.up import start_up

APP = Path(__file__).resolve().parents[1] / "apps" / "function-urls" / "template.yaml"


@pytest.fixture(scope="module")
def stack(redis_server: ManagedProcess, s3_server: ManagedProcess,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with app_stack(APP, redis_server, s3_server, 6, tmp_path_factory.mktemp("lightbox")) as started:
        yield started


def url_of(stack: Stack, function: str) -> str:
    return stack.function_urls.url_of(function)


def test_each_url_has_its_own_port(stack: Stack) -> None:
    urls = {url_of(stack, f) for f in ("Echo", "Ticker", "Private")}
    assert len(urls) == 3 and stack.url + "/" not in urls


def test_get_and_post_reach_the_function_with_a_function_url_event(stack: Stack) -> None:
    resp = requests.get(url_of(stack, "Echo") + "items/7?a=1&a=2", headers={"Cookie": "c=1"}, timeout=10)
    assert resp.status_code == 201 and resp.headers["x-echo"] == "yes"
    event = resp.json()
    LambdaFunctionUrlModel.model_validate(event)
    assert event["rawPath"] == "/items/7" and event["rawQueryString"] == "a=1&a=2"
    assert event["queryStringParameters"] == {"a": "1,2"} and event["cookies"] == ["c=1"]
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "$default" and ctx["stage"] == "$default" and ctx["accountId"] == "anonymous"
    assert ctx["apiId"] == ctx["domainPrefix"] and "pathParameters" not in event
    posted = requests.post(url_of(stack, "Echo"), json={"x": 1}, timeout=10).json()
    assert posted["body"] == '{"x": 1}' and posted["requestContext"]["http"]["method"] == "POST"


def test_cors_on_the_url(stack: Stack) -> None:
    pre = requests.options(url_of(stack, "Echo"), timeout=10, headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert pre.headers["Access-Control-Allow-Methods"] == "GET,POST" and pre.headers["Access-Control-Max-Age"] == "120"
    got = requests.get(url_of(stack, "Echo"), headers={"Origin": "https://app.example"}, timeout=10)
    assert got.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert got.headers["Access-Control-Expose-Headers"] == "x-echo"
    other = requests.get(url_of(stack, "Echo"), headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_streamed_answer(stack: Stack) -> None:
    with requests.get(url_of(stack, "Ticker") + "?n=4", stream=True, timeout=10) as resp:
        assert resp.status_code == 200 and resp.headers.get("Transfer-Encoding") == "chunked"
        lines = [line for line in resp.iter_lines(decode_unicode=True) if line]
    assert lines == ["tick 0", "tick 1", "tick 2", "tick 3"]


def test_aws_iam_is_accepted_and_said(stack: Stack) -> None:
    resp = requests.get(url_of(stack, "Private"), timeout=10)
    assert resp.status_code == 201
    assert resp.json()["requestContext"]["authorizer"]["iam"]["accountId"] == stack.template.account_id
    assert [f.line() for f in stack.template.findings if f.kind == "not-emulated"] == [
        "Private (AWS::Serverless::Function): FunctionUrlConfig: AuthType AWS_IAM: request signatures are not "
        "checked locally; every caller is let in"]


def test_getatt_function_url_is_the_local_url(stack: Stack) -> None:
    inv = stack.runtime.invoke("Caller", {})
    assert inv.ok, inv.traceback
    assert inv.result == {"url": url_of(stack, "Echo"), "status": 201, "path": "/from-caller"}


def test_every_process_of_the_stack_reads_the_local_url(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers load the template themselves: the ports `up` chose reach them through their environment."""
    for name, value in config.child_env(stack.settings, {}).items():
        monkeypatch.setenv(name, value)
    again = load_for(Settings.load())
    assert again.function("Caller").environment["ECHO_URL"] == url_of(stack, "Echo")


def test_up_prints_each_url(tmp_path: Path) -> None:
    up = start_up(tmp_path, ["-t", str(APP), "-w", "1", "--bucket-events", "off"])
    try:
        deadline = time.monotonic() + 30  # up writes its state file just before it prints
        while "Ctrl-C stops everything." not in up.log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        line = next(x for x in up.log_path.read_text().splitlines() if "(function URL EchoUrl" in x)
        local = line.split()[1]
        assert local.startswith("http://127.0.0.1:") and local != f"{up.url}/"
        assert requests.get(local + "hi", timeout=10).json()["rawPath"] == "/hi"
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]
