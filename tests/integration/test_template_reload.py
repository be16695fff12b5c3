"""Template hot reload under a real `lightbox up`: an edited template (or child template) swaps its routes,
functions and triggers in without a restart; a broken edit keeps the previous one running and says why."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import redis
import requests
from botocore.exceptions import ClientError

from lightbox.services.processes import ManagedProcess
from lightbox.testing.up import start_up

ROOT = Path(__file__).resolve().parents[2]
CHILD = """\
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties: {QueueName: reload-work}
Outputs:
  Arn: {Value: !GetAtt Work.Arn}
"""
PARENT = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yaml}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      Environment: {Variables: {WHO: first}}
      Events:
        A: {Type: HttpApi, Properties: {Path: /a, Method: get}}
"""
CODE = """\
import json
import os

import redis


def handler(event, context):
    if "Records" in event:
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        client.rpush("reload", json.dumps([r["body"] for r in event["Records"]]))
        return {}
    return {"who": os.environ["WHO"], "path": event["rawPath"]}
"""


def until(check: Callable[[], object], timeout: float = 30.0) -> object:
    """Wait for `check` to give something truthy (the reload's effect), or fail with what it last gave."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = check()
        except (requests.RequestException, ClientError) as exc:
            got = None
            last: object = exc
        else:
            last = got
        if got or time.monotonic() > deadline:
            assert got, f"not reloaded within {timeout} s: {last!r}"
            return got
        time.sleep(0.1)


def test_edits_reload_routes_functions_and_triggers_and_a_broken_edit_keeps_the_old(
        redis_server: ManagedProcess, s3_server: ManagedProcess, tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "fn").mkdir(parents=True)
    (app / "fn" / "app.py").write_text(CODE)
    (app / "child.yaml").write_text(CHILD)
    (app / "template.yaml").write_text(PARENT)
    url = redis_server.url.rsplit("/", 1)[0] + "/4"
    client = redis.Redis.from_url(url)
    client.flushdb()
    data = tmp_path / "data"
    data.mkdir()
    up = start_up(data, ["-t", str(app / "template.yaml"), "-w", "1", "--redis-url", url, "--s3-endpoint",
                         s3_server.url, "--bucket-events", "poll"], cwd=ROOT)
    try:
        assert requests.get(f"{up.url}/a", timeout=10).json() == {"who": "first", "path": "/a"}
        # A new route, a new variable, and a queue consumer on the child's queue.
        (app / "template.yaml").write_text(PARENT.replace("WHO: first", "WHO: second") + """\
        B: {Type: HttpApi, Properties: {Path: /b, Method: get}}
        Work: {Type: SQS, Properties: {Queue: !GetAtt Child.Outputs.Arn}}
""")
        until(lambda: requests.get(f"{up.url}/b", timeout=10).ok)
        assert requests.get(f"{up.url}/a", timeout=10).json()["who"] == "second"
        sqs = boto3.client("sqs", endpoint_url=f"{up.url}/_lightbox/sqs", region_name="us-east-1")
        queue = sqs.get_queue_url(QueueName="reload-work")["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="after the reload")
        assert json.loads(until(lambda: client.lpop("reload"))) == ["after the reload"]  # type: ignore[arg-type]
        # A child template is watched too: its queue renamed, the consumer follows.
        (app / "child.yaml").write_text(CHILD.replace("reload-work", "reload-jobs"))
        jobs = until(lambda: sqs.get_queue_url(QueueName="reload-jobs")["QueueUrl"])
        sqs.send_message(QueueUrl=jobs, MessageBody="to the renamed queue")  # type: ignore[arg-type]
        assert json.loads(until(lambda: client.lpop("reload"))) == ["to the renamed queue"]  # type: ignore[arg-type]
        # A broken edit: said, and the previous template keeps running.
        (app / "template.yaml").write_text(PARENT + "  Broken: [\n")
        until(lambda: "cannot be loaded; still running the previous one" in up.log_path.read_text())
        assert requests.get(f"{up.url}/b", timeout=10).ok
        log = up.log_path.read_text()
        assert f"  {app / 'template.yaml'}:16:1: expected the node content, but found '<stream end>' (YAML syntax); " \
               "fix the file and load it again" in log.splitlines()
        assert "Traceback" not in log
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]
        client.flushdb()
        client.close()


STREAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: reload-items
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Items.StreamArn
            StartingPosition: TRIM_HORIZON
            FilterCriteria: {Filters: [{Pattern: '{"dynamodb": {"NewImage": {"kind": {"S": ["a"]}}}}'}]}
"""
STREAM_CODE = """\
import json
import os

import redis


def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    redis.Redis.from_url(os.environ["REDIS_URL"]).rpush("reload-stream", json.dumps(keys))
"""


def test_a_reload_restarts_stream_mappings_from_their_checkpoints(
        redis_server: ManagedProcess, s3_server: ManagedProcess, tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "fn").mkdir(parents=True)
    (app / "fn" / "app.py").write_text(STREAM_CODE)
    (app / "template.yaml").write_text(STREAM_TEMPLATE)
    url = redis_server.url.rsplit("/", 1)[0] + "/9"
    client = redis.Redis.from_url(url)
    client.flushdb()
    (tmp_path / "data").mkdir()
    up = start_up(tmp_path / "data", ["-t", str(app / "template.yaml"), "-w", "1", "--redis-url", url,
                                      "--s3-endpoint", s3_server.url, "--bucket-events", "off"],
                  env={"LIGHTBOX_CLOUD_ENDPOINT": s3_server.url}, cwd=ROOT)  # the table is made there
    ddb = boto3.client("dynamodb", endpoint_url=s3_server.url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")

    def put(pk: str, kind: str) -> None:
        ddb.put_item(TableName="reload-items", Item={"pk": {"S": pk}, "kind": {"S": kind}})

    def got() -> list[str]:
        return [k for raw in client.lrange("reload-stream", 0, -1) for k in json.loads(raw)]

    try:
        put("1", "a")
        put("2", "b")  # filtered out by the first template's pattern ...
        put("3", "a")
        until(lambda: "3" in got())  # ... and the mapping's checkpoint is past it
        (app / "template.yaml").write_text(STREAM_TEMPLATE.replace('["a"]', '["b"]'))
        until(lambda: "changed: reloaded" in up.log_path.read_text())
        put("4", "b")
        until(lambda: "4" in got())
        put("5", "a")
        put("6", "b")
        until(lambda: "6" in got())
        # The new pattern from the old position: nothing read twice, nothing the old pattern dropped.
        assert got() == ["1", "3", "4", "6"]
        # A pattern Lambda refuses: said, and the previous mapping keeps running.
        (app / "template.yaml").write_text(STREAM_TEMPLATE.replace('["a"]', '["b"'))
        until(lambda: "cannot be loaded; still running the previous one" in up.log_path.read_text())
        put("7", "b")
        until(lambda: "7" in got())
    finally:
        assert up.stop() == 0, up.log_path.read_text()[-3000:]
        client.flushdb()
        client.close()
