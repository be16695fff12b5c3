"""Where a stream batch given up on goes (eventsources/destinations.py): AWS's invocation record to a
queue of the template, through the emulator's SQS on a real Redis, or published to an SNS topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
import redis

from lightbox.eventsources.destinations import OnFailure
from lightbox.services.processes import ManagedProcess
from lightbox.sqs.gather import MESSAGES_KEY
from lightbox.sqs.queues import HELD_KEY, Broker
from lightbox.template.loader import load_template
from lightbox.template.model import StreamTrigger

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Failed:
    Type: AWS::SQS::Queue
    Properties: {QueueName: failed}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Runtime: python3.12, FunctionName: table-changes}
"""
BATCH: list[dict[str, Any]] = [{"dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 1700000000.0}},
                               {"dynamodb": {"SequenceNumber": "101", "ApproximateCreationDateTime": 1700000001.0}}]
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"


@pytest.fixture
def broker(redis_server: ManagedProcess, tmp_path: Path) -> Iterator[Broker]:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return None\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    conn = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/9")
    conn.flushdb()
    yield Broker(load_template(tmp_path / "template.yaml"), conn)
    conn.flushdb()


def test_a_queue_destination_gets_the_invocation_record(broker: Broker) -> None:
    trigger = StreamTrigger("dynamodb", STREAM, "Changes", on_failure="arn:aws:sqs:us-east-1:000000000000:failed")
    OnFailure(broker, lambda: None)("Fn", trigger, STREAM, "shardId-1", BATCH, 3, "RetryAttemptsExhausted", "boom")
    held = broker.connection.lrange(HELD_KEY.format("failed"), 0, -1)  # the queue has no consumer: it waits
    assert broker.connection.llen(MESSAGES_KEY.format("failed")) == 0
    [message] = [json.loads(m) for m in held]
    record = json.loads(message["body"])
    assert record["requestContext"]["functionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:table-changes"
    assert record["DDBStreamBatchInfo"]["startSequenceNumber"] == "100"
    assert record["DDBStreamBatchInfo"]["endSequenceNumber"] == "101"
    assert record["DDBStreamBatchInfo"]["streamArn"] == STREAM and record["DDBStreamBatchInfo"]["batchSize"] == 2


def test_a_topic_destination_is_published_to(broker: Broker) -> None:
    sns = MagicMock(spec=["publish"])
    topic = "arn:aws:sns:us-east-1:000000000000:stream-failures"
    trigger = StreamTrigger("kinesis", "arn:aws:kinesis:us-east-1:0:stream/s", "Clicks", on_failure=topic)
    batch = [{"kinesis": {"sequenceNumber": "7", "approximateArrivalTimestamp": 1700000000.0}}]
    OnFailure(broker, lambda: sns)("Fn", trigger, trigger.arn, "shardId-0", batch, 0, "RecordAgeExceeded", None)
    [call] = sns.publish.call_args_list
    assert call.kwargs["TopicArn"] == topic
    record = json.loads(call.kwargs["Message"])
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert "functionError" not in record["responseContext"]
    assert record["KinesisBatchInfo"]["shardId"] == "shardId-0"
