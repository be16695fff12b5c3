"""The pure parts of the Lambda service: naming a function in the Invoke API, error payloads, the
destination record, an event's age, and what the template says about destinations it cannot reach."""

from __future__ import annotations

import json
from pathlib import Path
from unittest.mock import create_autospec

import pytest
from flask import Flask
from redis.exceptions import ConnectionError as RedisConnectionError
from template_helpers import lines, load

from lightbox.exceptions import InvocationTimeout, Throttled
from lightbox.lambda_.api import InvokeError, blueprint, resolve
from lightbox.lambda_.asynchronous import Attempt, expired
from lightbox.lambda_.destinations import record
from lightbox.lambda_.logtail import Collected, lambda_log, tail
from lightbox.lambda_.payloads import error_payload, response_body
from lightbox.runtime.invoke import Invocation, Runtime
from lightbox.sqs.queues import Broker
from lightbox.template.model import EventInvokeConfig, Template

ARN = "arn:aws:lambda:us-east-1:000000000000:function"


@pytest.fixture
def template(tmp_path: Path) -> Template:
    return load(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12, FunctionName: my-fn,
                       AutoPublishAlias: live}
    """)


@pytest.mark.parametrize("given", ["Fn", "my-fn", f"{ARN}:my-fn", f"{ARN}:my-fn:$LATEST", "000000000000:function:my-fn",
                                   "my-fn:live", f"{ARN}:my-fn:live"])
def test_a_function_by_name_arn_partial_arn_or_alias(template: Template, given: str) -> None:
    assert resolve(template, given, None).name == "Fn"


@pytest.mark.parametrize(("given", "qualifier", "shown"), [
    ("nope", None, f"{ARN}:nope"), ("my-fn", "3", f"{ARN}:my-fn:3"), (f"{ARN}:my-fn:dev", None, f"{ARN}:my-fn:dev")])
def test_unknown_functions_and_qualifiers_are_not_found(template: Template, given: str, qualifier: str | None,
                                                         shown: str) -> None:
    with pytest.raises(InvokeError) as caught:
        resolve(template, given, qualifier)
    assert (caught.value.code, caught.value.status, str(caught.value)) == (
        "ResourceNotFoundException", 404, f"Function not found: {shown}")


def _failed(error: BaseException) -> Invocation:
    try:
        raise error
    except BaseException as exc:  # noqa: BLE001 - a raised error, so it has a traceback
        return Invocation("Fn", "req-1", error=exc)


def test_error_payloads_use_lambdas_types() -> None:
    payload = error_payload(_failed(ValueError("bad")))
    assert (payload["errorType"], payload["errorMessage"], payload["requestId"]) == ("ValueError", "bad", "req-1")
    assert payload["stackTrace"] and "test_lambda_service.py" in payload["stackTrace"][0]
    timeout = error_payload(_failed(InvocationTimeout("Task timed out after 3.00 seconds")))
    assert timeout["errorType"] == "Sandbox.Timedout"
    assert timeout["errorMessage"] == "RequestId: req-1 Error: Task timed out after 3.00 seconds"


def test_a_result_json_cannot_hold_is_a_marshal_error() -> None:
    body, error = response_body(Invocation("Fn", "r", result={1, 2}))
    assert json.loads(body) == error
    assert error is not None and error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response: Object of type set")
    assert response_body(Invocation("Fn", "r", result=None)) == (b"null", None)


def test_the_destination_record_on_success_and_failure() -> None:
    ok = record(f"{ARN}:Fn", "req", "Success", 1, {"a": 1}, Invocation("Fn", "x", result=[1]))
    assert ok["requestContext"] == {"requestId": "req", "functionArn": f"{ARN}:Fn:$LATEST", "condition": "Success",
                                    "approximateInvokeCount": 1}
    assert (ok["responseContext"], ok["responsePayload"]) == ({"statusCode": 200, "executedVersion": "$LATEST"}, [1])
    bad = record(f"{ARN}:Fn", "req", "RetriesExhausted", 3, {}, _failed(KeyError("k")))
    assert bad["responseContext"]["functionError"] == "Unhandled"
    assert set(bad["responsePayload"]) == {"errorMessage", "errorType", "stackTrace"}
    aged = record(f"{ARN}:Fn", "req", "EventAgeExceeded", 0, {}, None)
    assert "responseContext" not in aged and aged["requestContext"]["condition"] == "EventAgeExceeded"


def test_an_event_older_than_its_maximum_age_is_not_invoked(template: Template) -> None:
    fn = template.function("Fn")
    assert not expired(fn, Attempt(2, 3600.0, 1))  # six hours by default
    assert expired(fn, Attempt(2, 6 * 3600 + 1.0, 1))
    fn.event_invoke_config = EventInvokeConfig(maximum_event_age_seconds=60)
    assert expired(fn, Attempt(2, 61.0, 1)) and not expired(fn, Attempt(2, 59.0, 1))


def test_the_log_has_start_end_report_and_its_tail_is_the_last_4_kb() -> None:
    inv = Invocation("Fn", "req", result=1, duration_ms=1.2)
    log = lambda_log(inv, 128, Collected(output=["hello\n"]), [])
    assert log.splitlines()[:3] == ["START RequestId: req Version: $LATEST", "hello", "END RequestId: req"]
    assert "Billed Duration: 2 ms\tMemory Size: 128 MB" in log
    assert len(tail("x" * 5000)) == len(tail("x" * 4096))


def test_a_runtime_that_writes_lambdas_log_itself_is_taken_at_its_word() -> None:
    """An execution environment's lines (logger lightbox.function, `[Fn] line`), this request's only."""
    runtime = ["[Fn] START RequestId: req Version: $LATEST", "[Other] START RequestId: other Version: $LATEST",
               "[Fn] req\thello", "[Fn] END RequestId: req",
               "[Fn] REPORT RequestId: req\tDuration: 1.00 ms\tMax Memory Used: 40 MB"]
    log = lambda_log(Invocation("Fn", "req"), 128, Collected(output=["ignored\n"], runtime=runtime), [])
    assert log.splitlines() == ["START RequestId: req Version: $LATEST", "req\thello", "END RequestId: req",
                                "REPORT RequestId: req\tDuration: 1.00 ms\tMax Memory Used: 40 MB"]


def test_destinations_the_emulator_cannot_reach_get_a_line(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Lambda::Function
          Properties:
            Handler: app.handler
            Code: fn/
            Runtime: python3.12
            DeadLetterConfig: {TargetArn: arn:aws:s3:::bucket}
        Config:
          Type: AWS::Lambda::EventInvokeConfig
          Properties:
            FunctionName: !Ref Fn
            Qualifier: $LATEST
            MaximumEventAgeInSeconds: 60
            DestinationConfig: {OnFailure: {Destination: arn:aws:s3:::bucket}, OnSuccess: {Destination: !GetAtt Q.Arn}}
        Q: {Type: AWS::SQS::Queue}
    """, head="")
    assert lines(t) == [
        "Fn (AWS::Lambda::Function): DeadLetterConfig.TargetArn: arn:aws:s3:::bucket: a dead-letter queue is an SQS "
        "queue or an SNS topic; failed events are not sent there",
        "Config (AWS::Lambda::EventInvokeConfig): DestinationConfig.OnFailure.Destination: arn:aws:s3:::bucket: "
        "destinations on this service are not emulated (emulated: SQS, SNS, EventBridge, Lambda); records for it "
        "are logged instead",
    ]
    assert t.function("Fn").event_invoke_config == EventInvokeConfig(
        None, 60, "arn:aws:sqs:us-east-1:000000000000:Q", "arn:aws:s3:::bucket")


def test_retry_and_age_limits_aws_refuses_get_a_line(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            EventInvokeConfig: {MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 30}
    """)
    assert lines(t) == [
        "Fn (AWS::Serverless::Function): EventInvokeConfig.MaximumRetryAttempts: 5 is outside 0-2; AWS would refuse "
        "it at deploy (used as given here)",
        "Fn (AWS::Serverless::Function): EventInvokeConfig.MaximumEventAgeInSeconds: 30 is outside 60-21600; AWS "
        "would refuse it at deploy (used as given here)",
    ]


def test_a_throttled_invocation_is_429_too_many_requests(template: Template) -> None:
    """The HTTP side of a throttle (a runtime that limits concurrency refuses with Throttled)."""
    runtime = create_autospec(Runtime, instance=True)
    runtime.template = template
    runtime.invoke.return_value = Invocation("Fn", "r", error=Throttled("Rate Exceeded."))
    app = Flask("t")
    app.register_blueprint(blueprint(runtime, create_autospec(Broker, instance=True)))
    resp = app.test_client().post("/2015-03-31/functions/Fn/invocations", data=b"{}")
    assert (resp.status_code, resp.headers["x-amzn-ErrorType"]) == (429, "TooManyRequestsException")
    assert resp.get_json() == {"Type": "User", "message": "Rate Exceeded."}
    runtime.invoke.side_effect = Throttled("Rate Exceeded.")  # refused before it started
    assert app.test_client().post("/2015-03-31/functions/Fn/invocations").status_code == 429


def test_an_event_the_async_queue_cannot_take_is_a_service_exception(template: Template) -> None:
    broker = create_autospec(Broker, instance=True)
    broker.invoke_async.side_effect = RedisConnectionError("Connection refused")
    runtime = create_autospec(Runtime, instance=True)
    runtime.template = template
    app = Flask("t")
    app.register_blueprint(blueprint(runtime, broker))
    resp = app.test_client().post("/2015-03-31/functions/Fn/invocations", headers={"X-Amz-Invocation-Type": "Event"})
    assert (resp.status_code, resp.headers["x-amzn-ErrorType"]) == (500, "ServiceException")
    assert resp.get_json()["Type"] == "Service"
    runtime.invoke.assert_not_called()
