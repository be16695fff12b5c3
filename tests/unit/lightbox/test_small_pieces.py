"""Pure pieces of the emulator: schedules, S3 records, settings precedence, context, env scoping."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lightbox.config import Settings
from lightbox.eventbridge.schedule import Scheduler, parse_expression
from lightbox.runtime.context import LambdaContext
from lightbox.runtime.environ import function_environment
from lightbox.s3.notifications import normalize
from lightbox.sqs.api import attributes_md5
from lightbox.stack.awscli import with_endpoint
from lightbox.template.model import S3Trigger

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("expr", "expected"), [
    ("rate(1 minute)", NOW + timedelta(minutes=1)),
    ("rate(5 minutes)", NOW + timedelta(minutes=5)),
    ("rate(2 hours)", NOW + timedelta(hours=2)),
    ("cron(0 12 * * ? *)", NOW.replace(hour=12)),
    ("cron(15 10 ? * 2 *)", NOW.replace(minute=15)),  # AWS day 2 is Monday
    ("cron(0 9 ? * SUN *)", NOW.replace(day=29, hour=9)),
])
def test_schedule_expressions(expr: str, expected: datetime) -> None:
    assert parse_expression(expr)(NOW) == expected


@pytest.mark.parametrize("bad", ["rate(1 minutes)", "rate(0 hours)", "cron(* * * *)", "every 5 minutes"])
def test_bad_schedule_expressions(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_expression(bad)


def test_scheduler_fires_when_due_with_injected_clock() -> None:
    clock = [NOW]
    fired: list[tuple[str, datetime]] = []
    sched = Scheduler([("fn:Every", "rate(1 minute)")], lambda k, when: fired.append((k, when)), lambda: clock[0])
    sched.tick()
    assert fired == []
    clock[0] = NOW + timedelta(seconds=61)
    sched.tick()
    assert fired == [("fn:Every", NOW + timedelta(minutes=1))]


def test_minio_record_becomes_an_aws_record() -> None:
    rec = normalize({"eventName": "s3:ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                     "object": {"key": "originals%2Fa+b%2Bc.jpg", "size": 5, "eTag": '"abc"'}}}, "eu-west-1")
    assert rec["eventName"] == "ObjectCreated:Put" and rec["awsRegion"] == "eu-west-1"
    assert rec["s3"]["object"] == {"key": "originals/a+b%2Bc.jpg", "size": 5, "eTag": "abc",
                                   "sequencer": rec["s3"]["object"]["sequencer"]}


def test_s3_trigger_matching() -> None:
    t = S3Trigger("b", ("s3:ObjectCreated:*",), "in/", ".jpg", "E")
    assert t.matches("ObjectCreated:Put", "in/x.jpg") and t.matches("ObjectCreated:Post", "in/y.jpg")
    assert not t.matches("ObjectRemoved:Delete", "in/x.jpg")
    assert not t.matches("ObjectCreated:Put", "out/x.jpg") and not t.matches("ObjectCreated:Put", "in/x.png")


def test_settings_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIGHTBOX_PORT", "4000")
    monkeypatch.setenv("LIGHTBOX_WORKERS", "3")
    s = Settings.load(port=5000)
    assert (s.port, s.workers, s.template) == (5000, 3, Path("template.yaml"))  # flag > env > default


def test_lambda_context_counts_down_on_its_clock() -> None:
    now = [100.0]
    ctx = LambdaContext("fn", 3, 128, "us-east-1", "000000000000", clock=lambda: now[0])
    assert ctx.get_remaining_time_in_millis() == 3000
    now[0] += 2.5
    assert ctx.get_remaining_time_in_millis() == 500
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:fn"


def test_function_environment_is_per_thread() -> None:
    seen: dict[str, str | None] = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        with function_environment({"WHO": name}):
            barrier.wait()
            seen[name] = os.environ.get("WHO")

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"a": "a", "b": "b"} and "WHO" not in os.environ


def test_message_attribute_md5_matches_aws_example() -> None:
    # The value SQS returns for this attribute (checked against moto's implementation).
    from moto.sqs.models import Message

    attrs = {"kind": {"DataType": "String", "StringValue": "photo"}}
    msg = Message("id", "body")
    msg.message_attributes = attrs
    assert attributes_md5(attrs) == msg.attribute_md5


def test_lightbox_aws_names_each_services_endpoint_unless_the_command_does() -> None:
    found = {"cloud_endpoint": "http://c", "s3_endpoint": "http://s3", "sqs_endpoint": "http://q/sqs",
             "url": "http://gw"}
    assert with_endpoint(found, ["sqs", "list-queues"]) == ["sqs", "list-queues", "--endpoint-url", "http://q/sqs"]
    assert with_endpoint(found, ["--output", "json", "s3api", "list-buckets"])[-1] == "http://s3"
    assert with_endpoint(found, ["lambda", "list-functions"])[-1] == "http://gw"  # the emulator's Invoke API
    assert with_endpoint(found, ["dynamodb", "list-tables"])[-1] == "http://c"
    given = ["sqs", "list-queues", "--endpoint-url=http://mine"]
    assert with_endpoint(found, given) == given
