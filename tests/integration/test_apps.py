"""The sample templates of tests/apps (raw CloudFormation, CDK output, nested stacks of both kinds, code
forms, Conditions and ForEach, a public layer, a state machine) each run by a real `lightbox up`, their
functions reached through their real triggers, and every not-emulated line it prints checked word for word."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests

from lightbox.services.processes import ManagedProcess
from lightbox.testing.up import UpProcess, start_up

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "apps"
HEADER = "not emulated (--strict refuses these):"


class App:
    """One app under `lightbox up`, on the session's Redis (a database of its own) and moto server."""

    def __init__(self, up: UpProcess, client: redis.Redis, s3_endpoint: str) -> None:
        self.up, self.client = up, client
        self.s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        self.sqs = boto3.client("sqs", endpoint_url=f"{up.url}/_lightbox/sqs", region_name="us-east-1")

    @property
    def url(self) -> str:
        return self.up.url

    def printed(self) -> list[str]:
        """What `lightbox up` printed about what is not emulated, line by line."""
        lines = self.up.log_path.read_text().splitlines()
        return [line.strip() for line in lines[lines.index(HEADER) + 1:] if line.startswith("  ")] \
            if HEADER in lines else []

    def records(self, key: str, n: int = 1, timeout: float = 30.0) -> list[Any]:
        """Wait for the app's functions to have recorded `n` events (the test's only view of a trigger)."""
        deadline = time.monotonic() + timeout
        while True:
            items = [json.loads(x) for x in self.client.lrange(key, 0, -1)]
            if len(items) >= n or time.monotonic() > deadline:
                return items
            time.sleep(0.05)

    def send(self, queue: str, body: str) -> None:
        url = self.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=body)

    def fire(self, schedule: str) -> None:
        resp = requests.post(f"{self.url}/_lightbox/schedules/{schedule}", timeout=10)
        assert resp.status_code == 202, resp.text


@pytest.fixture
def run_app(redis_server: ManagedProcess, s3_server: ManagedProcess,
            tmp_path: Path) -> Iterator[Callable[..., App]]:
    started: list[UpProcess] = []
    url = redis_server.url.rsplit("/", 1)[0] + "/3"  # a database of its own: other tests flush 0
    client = redis.Redis.from_url(url)
    client.flushdb()

    def run(template: str, *args: str) -> App:
        up = start_up(tmp_path, ["-t", str(APPS / template), "-w", "1", "--redis-url", url, "--s3-endpoint",
                                 s3_server.url, "--bucket-events", "poll", *args], cwd=ROOT)
        started.append(up)
        return App(up, client, s3_server.url)

    yield run
    for up in started:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]
    client.flushdb()
    client.close()


def test_raw_cloudformation_functions_behind_an_api_a_queue_a_bucket_and_a_rule(run_app: Callable[..., App]) -> None:
    app = run_app("raw-cfn/template.yaml")
    hello = requests.get(f"{app.url}/hello/ada", timeout=10).json()  # inline code, REST Resource/Method chain
    assert hello["hello"] == "ada" and hello["stage"] == "dev"
    assert hello["stack"] == "raw-cfn"  # !Select [1, !Split ["/", !Ref AWS::StackId]]: AWS::StackId is an ARN
    assert hello["queue"] == f"{app.url}/_lightbox/sqs/000000000000/raw-cfn-jobs"
    app.send("raw-cfn-jobs", '{"kind": "job"}')  # folder code, AWS::Lambda::EventSourceMapping
    app.s3.put_object(Bucket="raw-cfn-uploads", Key="in/a.txt", Body=b"x")  # LambdaConfigurations
    app.fire("WorkerFunction:Tick")  # AWS::Events::Rule, its Input
    events = app.records("apps:raw-cfn", 3)
    assert {"tick": True} in events
    assert any(e.get("Records", [{}])[0].get("body") == '{"kind": "job"}' for e in events)
    assert any(e.get("Records", [{}])[0].get("s3", {}).get("object", {}).get("key") == "in/a.txt" for e in events)
    assert app.printed() == [
        "JobsMapping (AWS::Lambda::EventSourceMapping): FilterCriteria: filters are not applied yet; every message "
        "reaches the function",
    ]  # HelloUrl (AWS::Lambda::Url) is served on a port of its own


def test_a_cdk_app_as_cdk_synth_writes_it(run_app: Callable[..., App]) -> None:
    app = run_app("cdk/cdk.out")
    api = requests.get(f"{app.url}/items/1", timeout=10).json()  # LambdaRestApi: ANY /{proxy+}
    assert api["greeting"] == "hello from the layer"  # the layer is an asset too
    assert api["path"] == "/items/1" and api["table"] == "Items5C12978B"
    assert api["queue"].endswith("/Workers-JobsDF1CC2D4")  # !GetAtt Nested.Outputs.X
    assert requests.get(f"{app.url}/", timeout=10).json()["path"] == "/"
    # Custom::S3BucketNotifications -> the nested stack's queue -> its event source mapping
    app.s3.put_object(Bucket="cdk-app-uploads", Key="uploads/photo.txt", Body=b"x")
    app.fire("Tick:Every5")  # CDK v1 asset parameters (no Default) in its Code, never evaluated
    events = app.records("apps:cdk", 2)
    tick = next(e["tick"] for e in events if "tick" in e)
    assert tick["detail-type"] == "Scheduled Event" and tick["resources"][0].endswith(":rule/Every5B98BD5E4")
    worker = next(e for e in events if "worker" in e)
    assert worker["worker"]["Records"][0]["s3"]["object"]["key"] == "uploads/photo.txt"
    assert worker["greeting"] == "hello from the layer"  # a layer passed down to the nested stack
    assert app.printed() == [
        "Items (AWS::DynamoDB::Table): tables are not created locally yet; calls to it from functions fail"]


def test_nested_sam_applications_the_same_child_twice(run_app: Callable[..., App]) -> None:
    app = run_app("nested-sam/template.yaml")
    for to in ("orders", "billing"):
        resp = requests.post(f"{app.url}/send/{to}", data=f"to {to}", timeout=10)
        assert resp.status_code == 202, resp.text
    got = {e["body"]: e for e in app.records("apps:nested-sam", 2)}
    assert got["to orders"]["greeting"] == "hello" and got["to billing"]["greeting"] == "bonjour"
    assert got["to orders"]["function"] == "Orders-ConsumerFunction"
    assert got["to orders"]["stack"].startswith("nested-sam-Orders-")
    assert app.printed() == [
        "Orders/Alerts (AWS::SNS::Topic): topics are not created locally yet; Publish to it fails and its "
        "subscriptions get nothing",
        "Billing/Alerts (AWS::SNS::Topic): topics are not created locally yet; Publish to it fails and its "
        "subscriptions get nothing",
    ]


def test_a_cloudformation_nested_stack_with_outputs(run_app: Callable[..., App]) -> None:
    app = run_app("nested-cfn/template.yaml")
    app.s3.put_object(Bucket="nested-cfn-files", Key="notes/a.txt", Body=b"x")
    [got] = app.records("apps:nested-cfn", 1)
    assert got == {"bucket": "nested-cfn-files", "key": "notes/a.txt"}
    assert app.printed() == [
        "Storage/Files (AWS::S3::Bucket): VersioningConfiguration: objects are not versioned locally"]


def build_code_zip() -> None:
    """dist/zipped.zip from zip-src/, as a build step would make it (the archive is not kept in git)."""
    source, archive = APPS / "code-forms" / "zip-src", APPS / "code-forms" / "dist" / "zipped.zip"
    archive.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(source.iterdir()):
            out.writestr(zipfile.ZipInfo(path.name, date_time=(2024, 1, 1, 0, 0, 0)), path.read_bytes())


def test_zip_single_file_and_inline_code(run_app: Callable[..., App]) -> None:
    build_code_zip()
    app = run_app("code-forms/template.yaml")
    zipped = requests.get(f"{app.url}/zip", timeout=10).json()
    assert zipped["form"] == "zip" and zipped["file"] != "dist"  # run from the extracted archive
    assert requests.get(f"{app.url}/file", timeout=10).json() == {"form": "file", "siblings": ["handler.py"]}
    inline = requests.get(f"{app.url}/inline", timeout=10).json()
    assert inline["form"] == "inline" and inline["file"] == "index.py"  # where CloudFormation writes ZipFile code
    assert inline["root"].startswith("InlineFunction-")
    assert app.printed() == []  # its FunctionUrlConfig is served on a port of its own


def test_conditions_mappings_and_foreach(run_app: Callable[..., App]) -> None:
    app = run_app("conditions/template.yaml")
    users = requests.get(f"{app.url}/users", timeout=10).json()
    assert users["ENDPOINT"] == "users" and users["LABEL"] == "small" and users["COLOUR"] == "plain"
    assert users["DEBUG"] == "1" and users["REGION_GROUP"] == "us-east" and users["FIRST_ZONE"] == "us-east-1a"
    assert users["SUBNETS"] == "10.0.0.0/24 10.0.1.0/24" and users["ENDPOINT_COUNT"] == "2"
    assert json.loads(users["SETTINGS"]) == {"endpoint": "users", "env": "dev"}
    assert users["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert len(users["STACK_UUID"].split("-")) == 5
    assert requests.get(f"{app.url}/orders", timeout=10).json()["ENDPOINT"] == "orders"
    assert requests.get(f"{app.url}/prod-only", timeout=10).status_code == 404  # its Condition is false
    assert app.printed() == []  # ProdTable does not exist in dev: nothing to say


def test_a_public_layer_runs_with_what_is_installed(run_app: Callable[..., App]) -> None:
    app = run_app("public-layer/template.yaml")
    # "what is installed": the dev extras install aws-lambda-powertools (tests check event shapes with it)
    installed = importlib.util.find_spec("aws_lambda_powertools") is not None
    assert requests.get(f"{app.url}/ping", timeout=10).json() == {"pong": "pong from the local layer",
                                                                  "powertools_installed": installed}
    arn = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:7"
    assert app.printed() == [
        f"PingFunction (AWS::Serverless::Function): Layers[0]: {arn}: a layer from outside the template is not "
        "downloaded; the function runs with what is installed (pip install the layer's packages into the "
        "environment lightbox runs in)"]


def test_a_state_machine_and_a_scheduler_schedule(run_app: Callable[..., App]) -> None:
    app = run_app("state-machine/template.yaml")
    app.fire("ReportFunction:Nightly")
    assert app.records("apps:state-machine", 1) == [{"report": "nightly"}]
    assert app.printed() == [
        "StockStateMachine (AWS::Serverless::StateMachine): state machines are not run; its Schedule event Daily "
        "does not fire"]


def test_strict_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "lightbox", "up", "--strict", "-p", "0", "-t",
                           str(APPS / "state-machine" / "template.yaml")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={**os.environ, "LIGHTBOX_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "lightbox: error: StockStateMachine: state machines are not run; its Schedule event Daily does not fire "
        "(AWS::Serverless::StateMachine; not emulated, and --strict refuses it)"]
    assert "Traceback" not in done.stderr and done.stdout == ""
