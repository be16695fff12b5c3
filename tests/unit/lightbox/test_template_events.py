"""SNS subscriptions, EventBridge rules with patterns, and Scheduler schedules as the loader models them."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from template_helpers import lines, load

from lightbox.exceptions import TemplateError
from lightbox.template.expressions import NEVER, parse_expression
from lightbox.template.model import RuleTrigger, ScheduleTrigger, SnsTrigger

FN = "Fn:\n  Type: AWS::Serverless::Function\n  Properties: {Handler: app.handler, CodeUri: fn/, Runtime: python3.12"


def template(events: str, rest: str = "") -> str:
    """The function Fn with `events` (a flow mapping's inside) and `rest` (more resources)."""
    return FN + (f", Events: {{{' '.join(events.split())}}}}}" if events else "}") + "\n" + textwrap.dedent(rest)


def test_sam_sns_events_and_subscriptions_to_functions_and_queues(tmp_path: Path) -> None:
    t = load(tmp_path, template("""
        Big: {Type: SNS, Properties: {Topic: !Ref Topic, FilterPolicy: {size: [big]}}},
        Body: {Type: SNS, Properties: {Topic: !Ref Topic, FilterPolicyScope: MessageBody,
                                       FilterPolicy: {kind: [{prefix: a}]}}}""", """
        Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: orders, Subscription: [
                  {Protocol: sqs, Endpoint: !GetAtt Q.Arn}, {Protocol: email, Endpoint: a@b.c}]}}
        Q: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}
        Raw:
          Type: AWS::SNS::Subscription
          Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Q.Arn, RawMessageDelivery: "true",
                       FilterPolicy: '{"n": [{"numeric": [">", 1]}]}', RedrivePolicy: {deadLetterTargetArn: x}}
    """))
    fn = t.function("Fn")
    assert SnsTrigger("orders", "Big", {"size": ["big"]}, subscription="FnBig") in fn.triggers
    assert SnsTrigger("orders", "Body", {"kind": [{"prefix": "a"}]}, "MessageBody", subscription="FnBody") \
        in fn.triggers
    assert t.queue_targets == [
        SnsTrigger("orders", "Topic", queue="q", subscription="Topic"),
        SnsTrigger("orders", "Raw", {"n": [{"numeric": [">", 1]}]}, queue="q", raw=True, subscription="Raw"),
    ]
    assert [f for _, f in t.topic_subscribers("orders")] == [*fn.of_kind(SnsTrigger), *t.queue_targets]
    assert lines(t) == [
        "Topic (AWS::SNS::Topic): Subscription[1]: email subscriptions are not delivered locally: a@b.c gets "
        "nothing",
        "Raw (AWS::SNS::Subscription): RedrivePolicy: is not used: a message the endpoint does not take is dropped, "
        "not sent to the queue",
    ]


@pytest.mark.parametrize(("props", "message"), [
    ("FilterPolicy: {n: [{numeric: ['>', x]}]}", "Sub.FilterPolicy: Invalid parameter: Attributes Reason: "
                                                 "FilterPolicy: Value of > must be numeric at ..."),
    ("FilterPolicy: '{oops'", "Sub.FilterPolicy: is not JSON: SNS takes a JSON object"),
    ("FilterPolicyScope: Body", "Sub.FilterPolicyScope: 'Body': SNS takes MessageAttributes or MessageBody"),
])
def test_a_filter_policy_sns_refuses_is_one_line(tmp_path: Path, props: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        load(tmp_path, f"""
            Topic: {{Type: AWS::SNS::Topic}}
            Q: {{Type: AWS::SQS::Queue}}
            Sub:
              Type: AWS::SNS::Subscription
              Properties: {{TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Q.Arn, {props}}}
        """, head="")
    assert str(err.value) == message


def test_eventbridge_rules_with_patterns_on_buses_and_their_targets(tmp_path: Path) -> None:
    t = load(tmp_path, template("""
        Paid: {Type: EventBridgeRule, Properties: {EventBusName: !Ref Bus, Pattern: {source: [shop]},
               InputTransformer: {InputPathsMap: {id: $.detail.id}, InputTemplate: '{"id": <id>}'}}},
        Old: {Type: CloudWatchEvent, Properties: {Pattern: {detail-type: [X]}, InputPath: $.detail}}""", """
        Bus: {Type: AWS::Events::EventBus, Properties: {Name: shop}}
        Q: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}
        ToQueue:
          Type: AWS::Events::Rule
          Properties:
            EventBusName: !GetAtt Bus.Arn
            State: DISABLED
            EventPattern: '{"source": [{"prefix": "s"}]}'
            Targets: [{Id: q, Arn: !GetAtt Q.Arn, Input: '{"fixed": 1}'},
                      {Id: k, Arn: arn:aws:kinesis:us-east-1:000000000000:stream/s}]
    """))
    fn = t.function("Fn")
    paid = next(r for r in fn.of_kind(RuleTrigger) if r.event_name == "Paid")
    assert (paid.bus, paid.pattern, paid.input_paths, paid.input_template) == (
        "shop", {"source": ["shop"]}, {"id": "$.detail.id"}, '{"id": <id>}')
    old = next(r for r in fn.of_kind(RuleTrigger) if r.event_name == "Old")
    assert (old.bus, old.input_path, old.enabled) == ("default", "$.detail", True)
    [queued] = t.queue_targets
    assert isinstance(queued, RuleTrigger)
    assert (queued.queue, queued.bus, queued.enabled, queued.input) == ("q", "shop", False, '{"fixed": 1}')
    assert t.bus_rules("shop") == [(fn, paid)]  # the disabled rule is not one
    assert lines(t) == ["ToQueue (AWS::Events::Rule): Targets[1].Arn: arn:aws:kinesis:us-east-1:000000000000:stream/s "
                        "is neither a function nor a queue: it gets nothing"]


@pytest.mark.parametrize(("rule", "message"), [
    ("EventPattern: {source: aws.s3}", "R.EventPattern: Event pattern is not valid. Reason: source: must be an "
                                       "object or an array"),
    ("EventPattern: {n: [{numeric: ['>', 1, '<']}]}", "R.EventPattern: Event pattern is not valid. Reason: n: "
                                                      'numeric takes [op, number] or a range [">"|">=", low, "<"|"<=", '
                                                      "high]"),
    ("EventPattern: {a: [x]}\n    Targets: [{Id: t, Arn: !GetAtt Fn.Arn, Input: '{}', InputPath: $}]",
     "R.Targets[0]: takes one of Input, InputPath and InputTransformer, not Input and InputPath"),
    ("ScheduleExpression: at(2030-01-01T00:00:00)", "R.ScheduleExpression: at(2030-01-01T00:00:00): rules take "
                                                    "rate() or cron(); one-time at() expressions are EventBridge "
                                                    "Scheduler's"),
])
def test_a_rule_aws_refuses_is_one_line(tmp_path: Path, rule: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        load(tmp_path, template("", f"R:\n  Type: AWS::Events::Rule\n  Properties:\n    {rule}\n"))
    assert str(err.value) == message


def test_scheduler_schedules_one_time_and_to_queues(tmp_path: Path) -> None:
    t = load(tmp_path, template("""Once: {Type: ScheduleV2, Properties: {
                                    ScheduleExpression: "at(2030-01-01T00:00:00)", Input: '{"once": true}'}}""", """
        Q: {Type: AWS::SQS::Queue, Properties: {QueueName: q}}
        Flex:
          Type: AWS::Scheduler::Schedule
          Properties:
            ScheduleExpression: rate(5 minutes)
            FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
            Target: {Arn: !GetAtt Q.Arn, RoleArn: r}
    """))
    [once] = t.function("Fn").of_kind(ScheduleTrigger)
    assert (once.expression, once.input, once.scheduler) == ("at(2030-01-01T00:00:00)", '{"once": true}', True)
    assert t.queue_targets == [ScheduleTrigger("rate(5 minutes)", None, True, "Flex", "Flex", 15, "q", True)]
    assert lines(t) == ["Flex (AWS::Scheduler::Schedule): FlexibleTimeWindow: is not applied: the schedule fires on "
                        "time, not anywhere in its 15-minute window"]


def test_at_expressions_fire_once() -> None:
    nxt = parse_expression("at(2030-01-01T00:00:00)")
    when = datetime(2030, 1, 1, tzinfo=UTC)
    assert nxt(datetime(2029, 6, 1, tzinfo=UTC)) == when
    assert nxt(when) == NEVER
    with pytest.raises(ValueError, match="expected at"):
        parse_expression("at(2030-01-01)")


def test_a_bucket_notifies_a_topic(tmp_path: Path) -> None:
    t = load(tmp_path, """
        Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: uploads}}
        Box:
          Type: AWS::S3::Bucket
          Properties:
            BucketName: box
            NotificationConfiguration:
              TopicConfigurations:
                - Event: "s3:ObjectCreated:*"
                  Topic: !Ref Topic
                  Filter: {S3Key: {Rules: [{Name: suffix, Value: .jpg}]}}
    """, head="")
    [note] = t.buckets["box"].topic_notifications
    assert note.topic == "arn:aws:sns:us-east-1:000000000000:uploads" and note.suffix == ".jpg"
    assert note.matches("ObjectCreated:Put", "a.jpg") and not note.matches("ObjectCreated:Put", "a.png")
    assert t.buckets["box"].event_types == {"s3:ObjectCreated:*"}
    assert lines(t) == []
