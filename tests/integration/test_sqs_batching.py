"""SQS as Lambda's poller takes it, through a real `lightbox up` (tests/apps/streams): messages sent one
by one are gathered into batches of up to BatchSize within the batching window, messages no filter
matches never reach the function, and a partial batch failure receives only what failed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from streams_app import StreamsApp, run_streams_app

from lightbox.services.processes import ManagedProcess
from lightbox.sqs.gather import MESSAGES_KEY


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, redis_server: ManagedProcess) -> Iterator[StreamsApp]:
    yield from run_streams_app(tmp_path_factory.mktemp("sqs-batching"), redis_server, db=12)


def _bodies(app: StreamsApp, tag: str, n: int) -> list[list[dict[str, Any]]]:
    """The batches the orders function got that carry messages tagged `tag`, once `n` such messages came."""
    def batches(events: list[Any]) -> list[list[dict[str, Any]]]:
        out = [[json.loads(r["body"]) for r in e["event"]["Records"]] for e in events]
        return [[b for b in batch if b.get("tag") == tag] for batch in out if any(b.get("tag") == tag for b in batch)]
    deadline = time.monotonic() + 30
    while True:
        found = batches(app.records("orders", 1))
        if sum(len(b) for b in found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_messages_sent_one_by_one_are_gathered_into_batches_of_batch_size(app: StreamsApp) -> None:
    url = app.queue_url("streams-orders")
    for i in range(30):
        app.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "tag": "gather", "n": i}))
    batches = _bodies(app, "gather", 30)
    assert sorted(b["n"] for batch in batches for b in batch) == list(range(30))  # each once
    assert max(len(b) for b in batches) == 10  # BatchSize, never more
    assert len(batches) < 15  # gathered: thirty sends, far fewer invocations


def test_messages_no_filter_matches_never_invoke_the_function(app: StreamsApp) -> None:
    url = app.queue_url("streams-orders")
    for i in range(5):
        app.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "note", "tag": "filter", "n": i}))
    app.sqs.send_message(QueueUrl=url, MessageBody="plain text, not JSON: no body pattern matches it")
    app.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "tag": "filter", "n": 99}))
    # The order was sent last: once it is delivered, every message before it has been received.
    batches = _bodies(app, "filter", 1)
    assert [b["n"] for batch in batches for b in batch] == [99]
    events = [e["event"] for e in app.records("orders", 1)]
    assert not any("plain text" in r["body"] for e in events for r in e["Records"])
    assert app.redis.llen(MESSAGES_KEY.format("streams-orders")) == 0  # taken off the queue, not left waiting


def test_a_partial_batch_failure_receives_only_the_failed_message_again(app: StreamsApp) -> None:
    url = app.queue_url("streams-orders")
    app.sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "MessageBody": json.dumps({"kind": "order", "tag": "partial", "n": i, "fail": i == 1})}
        for i in range(3)])
    deliveries = _bodies(app, "partial", 5)  # three, then the failed one twice more (maxReceiveCount 2: once)
    assert [[b["n"] for b in batch] for batch in deliveries][:2] == [[0, 1, 2], [1]]
    events = [e["event"] for e in app.records("orders", 1)]
    again = next(e for e in events if [json.loads(r["body"]).get("n") for r in e["Records"]] == [1]
                 and json.loads(e["Records"][0]["body"])["tag"] == "partial")
    assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    parsed = SqsModel.model_validate(again)
    assert parsed.Records[0].eventSource == "aws:sqs" and parsed.Records[0].eventSourceARN.endswith(":streams-orders")
