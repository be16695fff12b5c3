"""Functions that are not Python, run by a real `lightbox up` through their real triggers (tests/apps/polyglot):
Node.js handlers (async, callback, an ES module) and a custom runtime whose bootstrap is a bash script, each
behind an HTTP API route and an SQS queue, sharing a layer; a Node handler that throws; and a runtime that
does not run here (java21), said at start and failing its invocations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests

from lightbox.runtime.runtimes import node
from lightbox.services.processes import ManagedProcess
from lightbox.testing import TestServers
from lightbox.testing.up import UpProcess, start_up

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests" / "apps" / "polyglot" / "template.yaml"
JAVA_LINE = ("JavaFunction (AWS::Serverless::Function): Runtime: java21: this runtime is not run here (runs: "
             "python3.9-3.13, nodejs18.x/20.x/22.x, provided, provided.al2, provided.al2023); invocations fail")

pytestmark = pytest.mark.skipif(node.node() is None, reason="`node` is not on PATH: the Node.js functions need it")


class Polyglot:
    def __init__(self, up: UpProcess, out_dir: Path) -> None:
        self.up, self.out_dir = up, out_dir
        self.sqs = boto3.client("sqs", endpoint_url=f"{up.url}/_lightbox/sqs", region_name="us-east-1")

    @property
    def url(self) -> str:
        return self.up.url

    def send(self, queue: str, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.sqs.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody=body)

    def received(self, fn: str, timeout: float = 30) -> dict[str, Any]:
        """What a queue-triggered function wrote about the event it was given (its first)."""
        deadline = time.monotonic() + timeout
        while not (found := sorted(self.out_dir.glob(f"{fn}-*.json"))):
            if time.monotonic() > deadline:
                raise AssertionError(f"{fn} recorded nothing:\n{self.up.log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        return dict(json.loads(found[0].read_text()))

    def log(self) -> str:
        return self.up.log_path.read_text()


@pytest.fixture(scope="module")
def app(redis_server: ManagedProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Polyglot]:
    url = redis_server.url.rsplit("/", 1)[0] + "/6"  # a database of its own: other tests flush 0
    client = redis.Redis.from_url(url)
    client.flushdb()
    data, out_dir = tmp_path_factory.mktemp("polyglot"), tmp_path_factory.mktemp("polyglot-out")
    up = start_up(data, ["-t", str(TEMPLATE), "-w", "1", "--redis-url", url,
                         "--parameter-overrides", f"OutDir={out_dir}"], cwd=ROOT)
    yield Polyglot(up, out_dir)
    assert up.stop() == 0, up.log_path.read_text()[-3000:]
    client.flushdb()
    client.close()


def test_an_async_node_handler_behind_an_http_api_with_a_layer_and_warm_state(app: Polyglot) -> None:
    first = requests.get(f"{app.url}/node/async/ada", timeout=30)
    assert first.status_code == 200, first.text
    got = first.json()
    assert got["greeting"] == "hello ada, from the layer"  # the layer's nodejs/node_modules is on NODE_PATH
    assert got["functionName"].endswith("AsyncFunction") and got["memoryLimitInMB"] == "256"
    assert 0 < got["remaining"] <= 5000  # Timeout: 5
    event = got["event"]
    assert event["version"] == "2.0" and event["routeKey"] == "GET /node/async/{name}"
    assert event["rawPath"] == "/node/async/ada" and event["pathParameters"] == {"name": "ada"}
    assert event["requestContext"]["http"]["method"] == "GET"
    second = requests.get(f"{app.url}/node/async/bob", timeout=30).json()
    assert second["invocations"] == got["invocations"] + 1  # the same warm environment
    assert second["requestId"] != got["requestId"]


def test_a_callback_handler_answers_once_its_event_loop_is_empty(app: Polyglot) -> None:
    resp = requests.post(f"{app.url}/node/callback", json={"order": 7}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"echo": {"order": 7}, "timerRan": True}


def test_an_es_module_handler_in_a_subfolder(app: Polyglot) -> None:
    resp = requests.get(f"{app.url}/node/esm", params={"q": "x"}, timeout=30)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["module"] == "esm" and got["file"] == "handlers/esm.mjs" and got["query"] == {"q": "x"}


def test_a_bash_bootstrap_behind_an_http_api_with_a_layers_bin(app: Polyglot) -> None:
    resp = requests.post(f"{app.url}/custom", data="hi", timeout=30)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["runtime"] == "bash" and got["shout"] == "HELLO FROM BASH"  # the layer's bin/ is on PATH
    assert got["function"].endswith("CustomFunction")
    assert got["event"]["rawPath"] == "/custom" and got["event"]["body"] == "hi"
    failed = requests.post(f"{app.url}/custom", data="fail", timeout=30)  # the bootstrap posts to /error
    assert failed.status_code == 500 and failed.json() == {"message": "Internal Server Error"}
    again = requests.post(f"{app.url}/custom", data="again", timeout=30)
    assert again.status_code == 200 and again.json()["event"]["body"] == "again"


@pytest.mark.parametrize(("queue", "fn"), [("polyglot-async", "async"), ("polyglot-callback", "callback"),
                                           ("polyglot-esm", "esm"), ("polyglot-custom", "custom")])
def test_sqs_messages_reach_node_and_bash_functions(app: Polyglot, queue: str, fn: str) -> None:
    app.send(queue, f"job for {fn}")
    got = app.received(fn)
    event = got if fn == "custom" else got["event"]  # the bash handler writes the event itself
    [record] = event["Records"]
    assert record["body"] == f"job for {fn}" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":{queue}") and record["messageId"]


def test_a_node_handler_that_throws_fails_with_lambdas_error_shape(app: Polyglot) -> None:
    resp = requests.get(f"{app.url}/node/throws", timeout=30)
    assert resp.status_code == 500 and resp.json() == {"message": "Internal Server Error"}
    # Lambda's Node.js runtime logs the error as one line: "Invoke Error" and the error as JSON.
    line = next(x for x in app.log().splitlines() if "\tERROR\tInvoke Error \t" in x)
    logged = json.loads(line.split("Invoke Error \t", 1)[1])
    assert logged["errorType"] == "PaymentDeclined" and logged["errorMessage"] == "card 4242 was declined"
    assert logged["stack"][0] == "PaymentDeclined: card 4242 was declined"
    # `lightbox invoke` runs it in an environment too, and prints the error as Node.js gives it
    out = subprocess.run([sys.executable, "-m", "lightbox", "invoke", "ThrowsFunction", "-t", str(TEMPLATE), "-e", "-"],
                         input="{}", capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 1 and out.stdout == ""
    assert "PaymentDeclined: card 4242 was declined\n    at exports.handler (" in out.stderr


def test_a_node_import_error_fails_that_function_only(app: Polyglot) -> None:
    resp = requests.get(f"{app.url}/node/broken", timeout=30)
    assert resp.status_code == 500 and resp.json() == {"message": "Internal Server Error"}
    failed = [json.loads(line.split("lightbox.invoke ", 1)[1]) for line in app.log().splitlines()
              if "lightbox.invoke {" in line and '"BrokenFunction"' in line]
    assert failed[-1]["outcome"] == "Runtime.ImportModuleError"
    assert failed[-1]["error"].startswith("Error: Cannot find module 'left-pad-was-never-installed'")
    assert requests.get(f"{app.url}/node/esm", timeout=30).status_code == 200


def test_a_runtime_that_does_not_run_here_is_said_at_start_and_its_invocations_fail(app: Polyglot) -> None:
    assert f"  {JAVA_LINE}" in app.log().splitlines()
    resp = requests.get(f"{app.url}/java", timeout=30)
    assert resp.status_code == 500 and resp.json() == {"message": "Internal Server Error"}
    assert "JavaFunction: java21: this runtime is not run here" in app.log()


def test_strict_refuses_a_runtime_that_does_not_run_here(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "lightbox", "up", "--strict", "-p", "0", "-t", str(TEMPLATE)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "LIGHTBOX_DATA_DIR": str(tmp_path / "data")})
    assert out.returncode == 2, out.stdout
    assert ("lightbox: error: JavaFunction.Runtime: java21: this runtime is not run here" in out.stderr
            and "--strict refuses it" in out.stderr)


HOT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      CodeUri: node/
      Handler: index.handler
      Events:
        Get: {Type: HttpApi, Properties: {Path: /node, Method: get}}
  BashFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2
      CodeUri: bash/
      Handler: unused
      Events:
        Get: {Type: HttpApi, Properties: {Path: /bash, Method: get}}
"""
BASH_BOOTSTRAP = """#!/bin/bash
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  ID=$(curl -sS -D - -o /dev/null "$API/invocation/next" | grep -Fi lambda-runtime-aws-request-id \\
    | tr -d '[:space:]' | cut -d: -f2)
  curl -sS -o /dev/null "$API/invocation/$ID/response" --data-binary '{"version": "%s"}'
done
"""


def test_an_edited_node_or_bash_function_runs_its_new_code(redis_server: ManagedProcess, tmp_path: Path) -> None:
    (tmp_path / "node").mkdir()
    (tmp_path / "bash").mkdir()
    (tmp_path / "template.yaml").write_text(HOT_TEMPLATE)
    index, bootstrap = tmp_path / "node" / "index.js", tmp_path / "bash" / "bootstrap"
    index.write_text('exports.handler = async () => ({version: "one"});\n')
    bootstrap.write_text(BASH_BOOTSTRAP % "one")
    bootstrap.chmod(0o755)
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    data = tmp_path / "data"
    data.mkdir()
    up = start_up(data, ["-t", str(tmp_path / "template.yaml"), "-w", "0", "--redis-url", url], cwd=tmp_path)
    try:
        for path in ("/node", "/bash"):
            assert requests.get(f"{up.url}{path}", timeout=30).json() == {"version": "one"}
        index.write_text('exports.handler = async () => ({version: "two"});\n')
        bootstrap.write_text(BASH_BOOTSTRAP % "two")
        for path in ("/node", "/bash"):
            deadline = time.monotonic() + 30
            while (got := requests.get(f"{up.url}{path}", timeout=30).json()) != {"version": "two"}:
                assert got == {"version": "one"} and time.monotonic() < deadline, up.log_path.read_text()[-2000:]
                time.sleep(0.2)
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]


PLUGIN_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  NodeFunction:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs20.x, CodeUri: node/, Handler: index.handler}
"""
PLUGIN_TESTS = """
import pytest

@pytest.mark.lightbox_isolation("process")
def test_node_in_an_environment(lightbox):
    assert lightbox.invoke("NodeFunction", {"n": 21}) == {"twice": 42}

def test_node_in_process_says_how(lightbox):
    with pytest.raises(Exception, match="lightbox_isolation"):
        lightbox.invoke("NodeFunction", {"n": 1})
"""


def test_the_pytest_plugin_runs_node_functions_in_environments(pytester: pytest.Pytester,
                                                                lightbox_servers: TestServers) -> None:
    pytester.makefile(".yaml", template=PLUGIN_TEMPLATE)
    pytester.mkdir("node")
    (pytester.path / "node" / "index.js").write_text("exports.handler = async (e) => ({twice: e.n * 2});\n")
    pytester.makepyfile(test_node=PLUGIN_TESTS)
    result = pytester.runpytest("--lightbox-redis-url", lightbox_servers.redis_url,
                                "--lightbox-s3-endpoint", lightbox_servers.s3_endpoint)
    result.assert_outcomes(passed=2)


def test_the_thread_model_starts_and_says_why_a_node_function_does_not_run_in_it(redis_server: ManagedProcess,
                                                                                   tmp_path: Path) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    up = start_up(tmp_path, ["-t", str(TEMPLATE), "-w", "0", "--redis-url", url], cwd=ROOT,
                  env={"LIGHTBOX_ISOLATION": "thread"})
    try:
        assert requests.get(f"{up.url}/node/esm", timeout=30).status_code == 500
        assert "nodejs22.x functions run only in execution environments, not in-process" in up.log_path.read_text()
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]
