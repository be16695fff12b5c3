from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lightbox.exceptions import TemplateError
from lightbox.template.loader import load_template
from lightbox.template.model import HttpRoute, QueueNotification, S3Trigger, ScheduleTrigger, SqsTrigger

SAMPLE = Path(__file__).resolve().parents[2] / "apps" / "sample" / "template.yaml"


def write_app(tmp_path: Path, resources: str, extra: str = "") -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return event\n")
    text = "Transform: AWS::Serverless-2016-10-31\n" + extra + "Resources:\n" + textwrap.indent(
        textwrap.dedent(resources), "  ")
    (tmp_path / "template.yaml").write_text(text)
    return tmp_path / "template.yaml"


def test_sample_template_model() -> None:
    t = load_template(SAMPLE)
    http = t.function("HttpFunction")
    assert http.timeout == 5 and http.memory_size == 256 and http.runtime == "python3.11"
    # Globals variables merge with the function's own; Ref of a queue is its URL.
    assert http.environment["GREETING"] == "hello"
    assert http.environment["WORK_QUEUE_URL"] == "http://127.0.0.1:3000/_lightbox/sqs/000000000000/sample-work"
    assert http.layers == [SAMPLE.parent / "layer"]
    assert HttpRoute("GET", "/hello/{name}", "2.0", "Hello") in http.triggers
    assert t.function("SlowFunction").timeout == 1  # function value beats Globals
    assert HttpRoute("GET", "/slow", "1.0", "Slow") in t.function("SlowFunction").triggers
    [s3] = t.function("S3Function").triggers
    assert s3 == S3Trigger("sample-uploads", ("s3:ObjectCreated:*",), "incoming/", ".txt", "Upload")
    [sqs] = t.function("QueueFunction").triggers
    assert sqs == SqsTrigger("sample-work", 5, True, True, "Work")
    [cron] = t.function("CronFunction").triggers
    assert isinstance(cron, ScheduleTrigger) and cron.expression == "rate(1 minute)"
    work = t.queues["sample-work"]
    assert (work.visibility_timeout, work.dead_letter_queue, work.max_receive_count) == (10, "sample-work-dlq", 3)
    assert set(t.buckets) == {"sample-uploads", "sample-inbox"}
    assert t.buckets["sample-inbox"].queue_notifications == (
        QueueNotification("sample-inbox-events", ("s3:ObjectCreated:*",), "", ".json"),)
    assert t.buckets["sample-uploads"].cors_rules == (
        {"AllowedMethods": ["POST", "PUT"], "AllowedHeaders": ["*"], "AllowedOrigins": ["http://app.example"],
         "MaxAgeSeconds": 600},)


def test_parameter_overrides_and_sub(tmp_path: Path) -> None:
    path = write_app(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.12
            Environment:
              Variables:
                NAME: !Sub "${Stage}-${AWS::Region}-${Q.QueueName}"
                LITERAL: !Sub "${!NotResolved}"
                JOINED: !Join ["-", [a, !Ref Stage]]
        Q:
          Type: AWS::SQS::Queue
    """, extra="Parameters:\n  Stage:\n    Type: String\n    Default: dev\n")
    env = load_template(path, parameter_overrides={"Stage": "prod"}).function("Fn").environment
    assert env == {"NAME": "prod-us-east-1-Q", "LITERAL": "${NotResolved}", "JOINED": "a-prod"}


@pytest.mark.parametrize(("resources", "where"), [
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.11,
                       Events: {K: {Type: Kinesis, Properties: {Stream: x}}}}
    """, "Fn.Events.K.Type: Kinesis events are not emulated"),
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: nope.handler, CodeUri: fn/, Runtime: python3.11}
    """, "Fn.Handler: nope.handler: no nope.py"),
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: nodejs20.x}
    """, "Fn.Runtime: nodejs20.x"),
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.11,
                       Environment: {Variables: {X: !FindInMap [M, a, b]}}}
    """, "Fn::FindInMap is not supported"),
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.11,
                       Events: {Up: {Type: S3, Properties: {Bucket: not-in-template, Events: "s3:ObjectCreated:*"}}}}
    """, "Fn.Events.Up.Bucket"),
    ("""
        Fn:
          Type: AWS::Serverless::Function
          Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.11,
                       Events: {T: {Type: Schedule, Properties: {Schedule: "rate(5 fortnights)"}}}}
    """, "Fn.Events.T.Properties.Schedule"),
    ("""
        Box:
          Type: AWS::S3::Bucket
          Properties:
            NotificationConfiguration:
              TopicConfigurations: [{Event: "s3:ObjectCreated:*", Topic: arn:aws:sns:us-east-1:1:t}]
    """, "Box.NotificationConfiguration.TopicConfigurations"),
    ("""
        Box:
          Type: AWS::S3::Bucket
          Properties:
            NotificationConfiguration:
              QueueConfigurations: [{Event: "s3:ObjectCreated:*", Queue: arn:aws:sqs:us-east-1:1:elsewhere}]
    """, "elsewhere is not an AWS::SQS::Queue in this template"),
])
def test_unsupported_things_name_resource_and_property(tmp_path: Path, resources: str, where: str) -> None:
    with pytest.raises(TemplateError) as err:
        load_template(write_app(tmp_path, resources))
    assert where in str(err.value)


def test_behaviour_free_properties_are_accepted(tmp_path: Path) -> None:
    path = write_app(tmp_path, """
        Fn:
          Type: AWS::Serverless::Function
          DependsOn: Role
          Properties:
            Handler: app.handler
            CodeUri: fn/
            Runtime: python3.11
            Tracing: Active
            Architectures: [arm64]
            Policies: [AWSLambdaBasicExecutionRole]
            Tags: {team: x}
        Role:
          Type: AWS::IAM::Role
          Properties: {}
    """, extra="Conditions:\n  Always: !Equals [a, a]\nMetadata:\n  x: 1\n")
    assert list(load_template(path).functions) == ["Fn"]


def test_missing_template_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="pass -t PATH"):
        load_template(tmp_path / "nope.yaml")
