"""Lambda's Invoke API and asynchronous invocation, driven with real boto3 against a running stack
(real redis-server, moto server and worker processes): RequestResponse, Event, DryRun, LogType Tail,
function errors, unknown functions, one function invoking another, retries, destinations and the DLQ."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
import requests
from app_stack import app_stack
from aws_lambda_powertools.utilities.parser.models import SqsModel, SqsRecordModel
from botocore.config import Config
from botocore.exceptions import ClientError

from lightbox.services.processes import ManagedProcess
from lightbox.stack.up import Stack

APP = Path(__file__).resolve().parents[1] / "apps" / "invoke" / "template.yaml"
RETRY_BASE = 0.2


@pytest.fixture(scope="module")
def cloud(s3_server: ManagedProcess) -> dict[str, str]:
    """On the embedded cloud: a topic and a bus, each delivering to a queue there that the test reads."""
    kw: dict[str, Any] = {"endpoint_url": s3_server.url, "region_name": "us-east-1"}
    sqs, sns, events = boto3.client("sqs", **kw), boto3.client("sns", **kw), boto3.client("events", **kw)
    out = {}
    for name in ("invoke-topic-sink", "invoke-bus-sink"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        out[name] = url
        out[f"{name}-arn"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"]
    topic = sns.create_topic(Name="invoke-failures")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=out["invoke-topic-sink-arn"],
                  Attributes={"RawMessageDelivery": "true"})
    bus = events.create_event_bus(Name="invoke-results")["EventBusArn"]
    events.put_rule(Name="lambda-results", EventBusName="invoke-results", EventPattern=json.dumps({
        "source": ["lambda"]}))
    events.put_targets(Rule="lambda-results", EventBusName="invoke-results",
                       Targets=[{"Id": "sink", "Arn": out["invoke-bus-sink-arn"]}])
    return {"FailureTopicArn": topic, "ResultBusArn": bus, **out}


@pytest.fixture(scope="module")
def invoke_stack(redis_server: ManagedProcess, s3_server: ManagedProcess, cloud: dict[str, str],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The topic and bus of `cloud` are made on the moto server, the stack's cloud endpoint.
    overrides = {k: cloud[k] for k in ("FailureTopicArn", "ResultBusArn")}
    with app_stack(APP, redis_server, s3_server, 2, tmp_path_factory.mktemp("lb"), retry_base=RETRY_BASE,
                   parameter_overrides=overrides) as started:
        yield started


@pytest.fixture
def lam(invoke_stack: Stack) -> Any:
    return boto3.client("lambda", endpoint_url=invoke_stack.url, region_name="us-east-1",
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def conn(invoke_stack: Stack) -> redis.Redis:
    return invoke_stack.connection


def wait_for(conn: redis.Redis, key: str, n: int, timeout: float = 30.0) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while True:
        items: list[bytes] = conn.lrange(key, 0, -1)  # type: ignore[assignment]
        if len(items) >= n or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def recorded(conn: redis.Redis, where: str, n: int = 1, match: dict[str, Any] | None = None) -> list[Any]:
    """What reached RecorderFunction from `where` (a queue name, or "lambda"): SQS records as powertools'
    model reads them, or Lambda destination events; only those whose requestPayload is `match`, if given."""
    deadline = time.monotonic() + 30
    while True:
        items = [json.loads(x) for x in conn.lrange("invoke:recorded", 0, -1)]  # type: ignore[union-attr]
        mine: list[Any] = [SqsModel.model_validate({"Records": [i["record"]]}).Records[0] if "record" in i
                           else i["event"] for i in items if i["queue"] == where]
        if match is not None:
            mine = [m for m in mine if _payload(m).get("requestPayload", _payload(m)) == match]
        if len(mine) >= n or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def _payload(got: Any) -> Any:
    return json.loads(got.body) if isinstance(got, SqsRecordModel) else got


def test_request_response_returns_the_result_with_the_executed_version(lam: Any) -> None:
    resp = lam.invoke(FunctionName="EchoFunction", Payload=json.dumps({"n": 1}))
    assert resp["StatusCode"] == 200
    assert resp["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in resp
    assert json.loads(resp["Payload"].read()) == {"echo": {"n": 1}, "function": "EchoFunction"}


def test_function_found_by_arn_partial_arn_and_latest_qualifier(lam: Any) -> None:
    for name in ("arn:aws:lambda:us-east-1:000000000000:function:EchoFunction",
                 "000000000000:function:EchoFunction", "EchoFunction:$LATEST"):
        resp = lam.invoke(FunctionName=name, Payload=b'"x"')
        assert json.loads(resp["Payload"].read())["echo"] == "x", name
    resp = lam.invoke(FunctionName="EchoFunction", Qualifier="$LATEST")
    assert json.loads(resp["Payload"].read())["echo"] == {}  # no payload: an empty object, as on Lambda


def test_handler_error_is_200_with_function_error_and_the_error_payload(lam: Any) -> None:
    resp = lam.invoke(FunctionName="NoRetryFunction", Payload=json.dumps({"id": "sync"}))
    assert resp["StatusCode"] == 200
    assert resp["FunctionError"] == "Unhandled"
    payload = json.loads(resp["Payload"].read())
    assert payload["errorType"] == "OrderRejected"
    assert payload["errorMessage"] == "order sync rejected"
    assert payload["requestId"] == resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert any("failing.py" in line and "in handler" in line for line in payload["stackTrace"])
    assert not any("lightbox" in line for line in payload["stackTrace"])  # the user's frames only


def test_unknown_function_is_resource_not_found(lam: Any) -> None:
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as caught:
        lam.invoke(FunctionName="Nope")
    assert caught.value.response["Error"]["Message"] == \
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:Nope"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="EchoFunction", Qualifier="7")  # no such version


def test_invalid_json_payload_is_invalid_request_content(lam: Any) -> None:
    with pytest.raises(lam.exceptions.InvalidRequestContentException) as caught:
        lam.invoke(FunctionName="EchoFunction", Payload=b"{not json")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Could not parse request body into json" in caught.value.response["Error"]["Message"]


def test_dry_run_is_204_and_checks_the_function(lam: Any) -> None:
    assert lam.invoke(FunctionName="EchoFunction", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="Nope", InvocationType="DryRun")


def test_log_type_tail_returns_the_invocations_log(lam: Any) -> None:
    resp = lam.invoke(FunctionName="EchoFunction", Payload=b'{"k": "tail-me"}', LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode()
    request_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    lines = log.splitlines()
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "echo got {'k': 'tail-me'}" in log  # print()
    assert "[INFO]" in log and "echo from EchoFunction" in log  # logging
    assert f"END RequestId: {request_id}" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert "Memory Size: 256 MB" in lines[-1]
    failed = lam.invoke(FunctionName="NoRetryFunction", Payload=b'{"id": "tail"}', LogType="Tail")
    assert "[ERROR] OrderRejected: order tail rejected" in base64.b64decode(failed["LogResult"]).decode()


def test_tail_is_the_last_4_kb(lam: Any) -> None:
    resp = lam.invoke(FunctionName="EchoFunction", Payload=json.dumps({"big": "x" * 10_000}), LogType="Tail")
    log = base64.b64decode(resp["LogResult"])
    assert len(log) == 4096
    assert log.decode(errors="ignore").rstrip().splitlines()[-1].startswith("REPORT RequestId: ")


def test_one_function_invokes_another_through_boto3(lam: Any) -> None:
    resp = lam.invoke(FunctionName="CallerFunction",
                      Payload=json.dumps({"target": "EchoFunction", "payload": {"from": "caller"}}))
    assert "FunctionError" not in resp
    assert json.loads(resp["Payload"].read()) == {
        "status": 200, "error": None, "payload": {"echo": {"from": "caller"}, "function": "EchoFunction"}}
    failed = lam.invoke(FunctionName="CallerFunction",
                        Payload=json.dumps({"target": "NoRetryFunction", "payload": {"id": "nested"}}))
    out = json.loads(failed["Payload"].read())
    assert (out["status"], out["error"], out["payload"]["errorType"]) == (200, "Unhandled", "OrderRejected")


def test_event_invoke_is_202_and_runs_asynchronously(lam: Any, conn: redis.Redis) -> None:
    resp = lam.invoke(FunctionName="ChainFunction", InvocationType="Event", Payload=b'{"chained": 1}')
    assert resp["StatusCode"] == 202
    assert resp["Payload"].read() == b""
    request_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [rec] = recorded(conn, "lambda")  # ChainFunction's OnSuccess destination is RecorderFunction
    assert rec["requestContext"] == {
        "requestId": request_id, "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:ChainFunction:$LATEST",
        "condition": "Success", "approximateInvokeCount": 1}
    assert rec["requestPayload"] == {"chained": 1}
    assert rec["responsePayload"] == {"echo": {"chained": 1}, "function": "ChainFunction"}


def test_failed_event_is_retried_twice_then_lands_in_on_failure_with_aws_record(
        lam: Any, conn: redis.Redis) -> None:
    resp = lam.invoke(FunctionName="FailFunction", InvocationType="Event", Payload=b'{"id": "retried"}')
    request_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [message] = recorded(conn, "FailuresQueue", match={"id": "retried"})
    assert len(conn.lrange("invoke:attempts:FailFunction:retried", 0, -1)) == 3  # 1 + MaximumRetryAttempts 2
    rec = json.loads(message.body)
    assert set(rec) == {"version", "timestamp", "requestContext", "requestPayload", "responseContext",
                        "responsePayload"}
    assert rec["version"] == "1.0" and rec["timestamp"].endswith("Z")
    assert rec["requestContext"] == {
        "requestId": request_id, "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:FailFunction:$LATEST",
        "condition": "RetriesExhausted", "approximateInvokeCount": 3}
    assert rec["requestPayload"] == {"id": "retried"}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert rec["responsePayload"]["errorType"] == "OrderRejected"
    assert rec["responsePayload"]["errorMessage"] == "order retried rejected"


def test_maximum_retry_attempts_0_means_one_attempt(lam: Any, conn: redis.Redis) -> None:
    lam.invoke(FunctionName="NoRetryFunction", InvocationType="Event", Payload=b'{"id": "once"}')
    [message] = recorded(conn, "FailuresQueue", match={"id": "once"})
    assert json.loads(message.body)["requestContext"]["approximateInvokeCount"] == 1
    assert len(conn.lrange("invoke:attempts:NoRetryFunction:once", 0, -1)) == 1


def test_an_event_older_than_its_maximum_age_is_not_retried(lam: Any, conn: redis.Redis) -> None:
    lam.invoke(FunctionName="AgedFunction", InvocationType="Event", Payload=b'{"id": "aged"}')
    [message] = recorded(conn, "FailuresQueue", match={"id": "aged"})
    rec = json.loads(message.body)
    assert rec["requestContext"]["condition"] == "EventAgeExceeded"
    assert rec["requestContext"]["approximateInvokeCount"] == 1
    assert len(conn.lrange("invoke:attempts:AgedFunction:aged", 0, -1)) == 1  # the retry never ran


def test_success_lands_in_on_success_queue(lam: Any, conn: redis.Redis) -> None:
    lam.invoke(FunctionName="SucceedFunction", InvocationType="Event", Payload=b'{"ok": true}')
    [message] = recorded(conn, "SuccessesQueue")
    rec = json.loads(message.body)
    assert rec["requestContext"]["condition"] == "Success"
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert rec["responsePayload"] == {"echo": {"ok": True}, "function": "SucceedFunction"}


def test_dead_letter_queue_gets_the_original_event_with_lambdas_attributes(lam: Any, conn: redis.Redis) -> None:
    resp = lam.invoke(FunctionName="DlqFunction", InvocationType="Event", Payload=b'{"id": "dead"}')
    request_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [message] = recorded(conn, "DeadLettersQueue")
    assert json.loads(message.body) == {"id": "dead"}
    attrs = {k: v.stringValue for k, v in message.messageAttributes.items()}
    assert attrs == {"RequestID": request_id, "ErrorCode": "200", "ErrorMessage": "order dead rejected"}
    assert message.messageAttributes["ErrorCode"].dataType == "Number"
    assert len(conn.lrange("invoke:attempts:DlqFunction:dead", 0, -1)) == 2  # MaximumRetryAttempts 1


def _received(sqs: Any, url: str) -> list[Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages", [])
        if got:
            return [json.loads(m["Body"]) for m in got]
    return []


def test_sns_and_eventbridge_destinations_reach_the_embedded_cloud(lam: Any, cloud: dict[str, str],
                                                                   s3_server: ManagedProcess) -> None:
    sqs = boto3.client("sqs", endpoint_url=s3_server.url, region_name="us-east-1")
    lam.invoke(FunctionName="CloudFunction", InvocationType="Event", Payload=b'{"id": "sns", "fail": true}')
    [rec] = _received(sqs, cloud["invoke-topic-sink"])  # raw delivery: the record itself
    assert rec["requestContext"]["condition"] == "RetriesExhausted"
    assert rec["requestPayload"] == {"id": "sns", "fail": True}
    lam.invoke(FunctionName="CloudFunction", InvocationType="Event", Payload=b'{"id": "bus"}')
    [event] = _received(sqs, cloud["invoke-bus-sink"])
    # The envelope is the bus's (moto's, which leaves out `account`); what Lambda puts on it is ours.
    assert (event["source"], event["detail-type"]) == ("lambda", "Lambda Function Invocation Result - Success")
    assert event["detail"]["responsePayload"] == {"fine": "bus"}
    assert event["resources"] == ["arn:aws:lambda:us-east-1:000000000000:function:CloudFunction"]


def test_functions_get_the_lambda_endpoint(invoke_stack: Stack) -> None:
    env = invoke_stack.runtime.environment(invoke_stack.template.function("CallerFunction"))
    assert env["AWS_ENDPOINT_URL_LAMBDA"] == invoke_stack.url
    assert requests.post(f"{invoke_stack.url}/2015-03-31/functions/Nope/invocations", timeout=5).headers[
        "x-amzn-ErrorType"] == "ResourceNotFoundException"


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed (pip install awscli)")
def test_the_aws_cli_invokes_with_endpoint_url(invoke_stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"}
    version = subprocess.run(["aws", "--version"], capture_output=True, text=True, timeout=60, check=True)
    # Version 2 reads a blob parameter as base64 unless told otherwise; version 1 takes it as written.
    raw = [] if (version.stdout + version.stderr).startswith("aws-cli/1.") else ["--cli-binary-format",
                                                                                "raw-in-base64-out"]
    done = subprocess.run(["aws", "lambda", "invoke", "--endpoint-url", invoke_stack.url, "--function-name",
                           "EchoFunction", "--payload", '{"cli": true}', *raw, str(out)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    assert json.loads(out.read_text()) == {"echo": {"cli": True}, "function": "EchoFunction"}


def test_list_and_get_functions_describe_the_templates_functions(lam: Any) -> None:
    listed = lam.list_functions()["Functions"]
    names = [f["FunctionName"] for f in listed]
    assert "EchoFunction" in names and names == sorted(names)
    echo = lam.get_function_configuration(FunctionName="EchoFunction")
    echo.pop("ResponseMetadata")
    assert echo == next(f for f in listed if f["FunctionName"] == "EchoFunction")
    assert echo["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:EchoFunction"
    assert (echo["Runtime"], echo["Handler"], echo["Timeout"], echo["MemorySize"]) == (
        "python3.11", "echo.handler", 5, 256)
    assert echo["State"] == "Active" and echo["Version"] == "$LATEST"
    got = lam.get_function(FunctionName="EchoFunction")
    assert got["Configuration"]["FunctionName"] == "EchoFunction"
    assert got["Code"]["Location"].startswith("file://") and got["Code"]["Location"].endswith("/functions")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="NoSuchFunction")


def test_a_lambda_call_that_is_not_emulated_is_501_naming_what_is(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.put_function_concurrency(FunctionName="EchoFunction", ReservedConcurrentExecutions=1)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplemented"
    assert "lightbox answers Invoke, ListFunctions, GetFunction and GetFunctionConfiguration" in \
        error["Error"]["Message"]
