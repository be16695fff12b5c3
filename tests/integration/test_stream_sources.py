"""DynamoDB streams and Kinesis delivered by a real `lightbox up` (tests/apps/streams): the records AWS
sends, checked against Powertools' parser models; bisect, retries and the on-failure destination;
ReportBatchItemFailures; filters; and `lightbox status` showing where each mapping is."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel
from streams_app import STREAM, TABLE, StreamsApp, run_streams_app

from lightbox.services.processes import ManagedProcess


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, redis_server: ManagedProcess) -> Iterator[StreamsApp]:
    yield from run_streams_app(tmp_path_factory.mktemp("streams"), redis_server, db=11)


def _changes(app: StreamsApp, pk: str, n: int) -> list[dict[str, Any]]:
    """The records about item `pk` the items function got, in the order it got them."""
    def about(events: list[Any]) -> list[dict[str, Any]]:
        return [r for e in events for r in e["event"]["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == pk]
    deadline = time.monotonic() + 30
    while True:
        found = about(app.records("items", 1))
        if len(found) >= n or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_put_update_delete_reach_the_function_as_insert_modify_remove(app: StreamsApp) -> None:
    app.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "crud"}, "n": {"N": "1"}})
    app.ddb.update_item(TableName=TABLE, Key={"pk": {"S": "crud"}}, UpdateExpression="SET n = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})
    app.ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "crud"}})
    records = _changes(app, "crud", 3)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    stream_arn = app.ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    insert, modify, remove = records
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "crud"}, "n": {"N": "1"}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["n"] == {"N": "2"} and "NewImage" not in remove["dynamodb"]
    assert {r["eventSourceARN"] for r in records} == {stream_arn}
    assert all(r["eventSource"] == "aws:dynamodb" and r["awsRegion"] == "us-east-1" for r in records)
    assert all(r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES" for r in records)
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)
    parsed = DynamoDBStreamModel.model_validate({"Records": records})
    assert parsed.Records[1].dynamodb is not None and parsed.Records[1].dynamodb.NewImage == {"pk": "crud", "n": 2}


def test_a_failing_record_is_bisected_out_retried_then_sent_to_the_on_failure_queue(app: StreamsApp) -> None:
    # One request: the four records reach the stream together, so they are read as one batch.
    items = [{"pk": {"S": f"bis-{i}"}, **({"poison": {"BOOL": True}} if i == 2 else {})} for i in range(4)]
    app.ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": item}} for item in items]})
    [failure] = [f["event"] for f in app.records("failures", 1)]
    stream_arn = app.ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2  # MaximumRetryAttempts: 1
    assert failure["requestContext"]["functionArn"].startswith("arn:aws:lambda:us-east-1:")
    assert failure["responseContext"]["functionError"] == "Unhandled" and failure["version"] == "1.0"
    assert info["batchSize"] == 1 and info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]

    events = [e["event"]["Records"] for e in app.records("items", 1)]
    keys = [[r["dynamodb"]["Keys"]["pk"]["S"] for r in batch] for batch in events]
    ours = [k for k in keys if any(x.startswith("bis-") for x in k)]
    assert ours.count(["bis-2"]) == 2  # alone after the splits, then retried once
    poisoned = next(r for b in events for r in b if r["dynamodb"]["Keys"]["pk"]["S"] == "bis-2")
    assert poisoned["dynamodb"]["SequenceNumber"] == info["startSequenceNumber"]
    # Each good record reached the function in a batch without the failing one: that batch succeeded.
    for good in ("bis-0", "bis-1", "bis-3"):
        assert any(good in k and "bis-2" not in k for k in ours), ours


def _put_clicks(app: StreamsApp, payloads: list[dict[str, Any]]) -> list[str]:
    got = app.kinesis.put_records(StreamName=STREAM, Records=[
        {"Data": json.dumps(p).encode(), "PartitionKey": p.get("user", "u")} for p in payloads])
    return [r["SequenceNumber"] for r in got["Records"]]


def test_kinesis_records_are_filtered_and_resume_from_the_first_reported_failure(app: StreamsApp) -> None:
    payloads = [{"kind": "view", "n": 0}, {"kind": "click", "n": 1}, {"kind": "click", "n": 2, "fail": True},
                {"kind": "click", "n": 3}, {"kind": "view", "n": 4}, {"kind": "click", "n": 5}]
    sequences = _put_clicks(app, payloads)
    events = app.records("clicks", 2)
    batches = [[json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in e["event"]["Records"]]
               for e in events]
    seen = [n for b in batches for n in b]
    assert 0 not in seen and 4 not in seen  # views match no filter: never delivered
    assert batches[0] == [1, 2, 3, 5]
    assert batches[1] == [2, 3, 5]  # checkpointed at the failed record: it and what follows, again
    records = events[0]["event"]["Records"]
    parsed = KinesisDataStreamModel.model_validate(events[0]["event"])
    assert parsed.Records[0].kinesis.partitionKey == "u"
    first = records[0]
    assert first["eventSource"] == "aws:kinesis" and first["eventName"] == "aws:kinesis:record"
    assert first["kinesis"]["sequenceNumber"] == sequences[1]
    assert first["eventID"] == f"shardId-000000000000:{sequences[1]}"
    assert first["eventSourceARN"].endswith(f":stream/{STREAM}") and first["kinesis"]["kinesisSchemaVersion"] == "1.0"


def test_status_lists_every_mapping_with_its_position_and_lag(app: StreamsApp) -> None:
    app.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "status"}})
    _changes(app, "status", 1)
    _put_clicks(app, [{"kind": "click", "n": 100}])
    app.records("clicks", 1)
    out = app.status()
    lines = {line.split()[0]: line for line in out.splitlines()[out.splitlines().index(
        next(x for x in out.splitlines() if x.startswith("MAPPING"))) + 1:] if line.strip()}
    assert set(lines) == {"ItemsFunction:Changes", "ClicksFunction:Clicks", "OrdersFunction:Orders",
                          "FailuresFunction:Failed", "PausedFunction:Paused"}
    assert "Disabled" in lines["PausedFunction:Paused"] and "not started" in lines["PausedFunction:Paused"]
    assert "dynamodb streams-items" in lines["ItemsFunction:Changes"]
    assert "shardId-" in lines["ItemsFunction:Changes"] and " ms" in lines["ItemsFunction:Changes"]
    assert "kinesis streams-clicks" in lines["ClicksFunction:Clicks"] and "@" in lines["ClicksFunction:Clicks"]
    assert "sqs streams-orders" in lines["OrdersFunction:Orders"]


def test_a_disabled_mapping_gets_nothing(app: StreamsApp) -> None:
    _put_clicks(app, [{"kind": "click", "n": 200}])
    deadline = time.monotonic() + 30
    while not any(json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] == 200
                  for e in app.records("clicks", 1) for r in e["event"]["Records"]):
        assert time.monotonic() < deadline, "the enabled mapping never delivered the click"
        time.sleep(0.05)
    assert app.records("paused", 1, timeout=0) == []  # the same stream, read by the enabled mapping only


def test_after_a_restart_each_mapping_resumes_where_it_was(app: StreamsApp) -> None:
    app.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "before-restart"}})
    _changes(app, "before-restart", 1)
    app.up.stop()
    app.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "while-down"}})
    app.start()
    assert [r["eventName"] for r in _changes(app, "while-down", 1)] == ["INSERT"]
    # TRIM_HORIZON again from scratch would hand every earlier record over a second time.
    assert len(_changes(app, "before-restart", 1)) == 1
    assert [r["eventName"] for r in _changes(app, "crud", 3)] == ["INSERT", "MODIFY", "REMOVE"]
