"""A stream mapping's batch handling (eventsources/poller.py) with a real function in-process and no
stream: bisect, retries, the on-failure hand-off, ReportBatchItemFailures, record age, ParallelizationFactor."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from lightbox.eventsources.poller import StreamPoller
from lightbox.eventsources.shards import Shards
from lightbox.runtime.invoke import Runtime
from lightbox.template.loader import load_template
from lightbox.template.model import StreamTrigger

HANDLER = """\
import json, pathlib

def handler(event, context):
    keys = [r["kinesis"]["partitionKey"] + ":" + r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    with pathlib.Path(__file__).with_name("calls.jsonl").open("a") as f:
        f.write(json.dumps(keys) + "\\n")
    if any(k.startswith("bad") for k in keys):
        raise ValueError("bad record")
    return {"batchItemFailures": [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in event["Records"]
                                  if r["kinesis"]["partitionKey"] == "report"]}
"""
TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Runtime: python3.12}
"""


def _record(key: str, seq: int, age: float = 0.0) -> dict[str, Any]:
    return {"kinesis": {"partitionKey": key, "sequenceNumber": str(seq), "data": "",
                        "approximateArrivalTimestamp": time.time() - age}}


class Run:
    def __init__(self, tmp: Path, **settings: Any) -> None:
        (tmp / "fn").mkdir()
        (tmp / "fn" / "app.py").write_text(HANDLER)
        (tmp / "template.yaml").write_text(TEMPLATE)
        self.calls_file = tmp / "fn" / "calls.jsonl"
        self.discarded: list[tuple[list[str], int, str]] = []
        trigger = dataclasses.replace(StreamTrigger("kinesis", "arn:aws:kinesis:us-east-1:0:stream/s", "E"), **settings)
        self.poller = StreamPoller("Fn", trigger, Runtime(load_template(tmp / "template.yaml"), hot_reload=False),
                                   self._no_shards, lambda r: True, None, self._discard, 0.0)  # type: ignore[arg-type]

    @staticmethod
    def _no_shards() -> Shards:
        raise AssertionError("these tests hand batches over directly")

    def _discard(self, function: str, trigger: StreamTrigger, arn: str, shard: str, batch: list[dict[str, Any]],
                 attempts: int, condition: str, error: str | None) -> None:
        self.discarded.append(([r["kinesis"]["sequenceNumber"] for r in batch], attempts, condition))

    def deliver(self, records: list[dict[str, Any]]) -> list[list[str]]:
        self.poller._run("arn", "shardId-0", records)
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]


def test_bisect_splits_until_the_failing_record_is_alone_then_retries_and_hands_it_over(tmp_path: Path) -> None:
    run = Run(tmp_path, bisect_on_error=True, maximum_retry_attempts=1)
    calls = run.deliver([_record("a", 1), _record("b", 2), _record("bad", 3), _record("c", 4)])
    assert calls == [["a:1", "b:2", "bad:3", "c:4"], ["a:1", "b:2"], ["bad:3", "c:4"], ["bad:3"], ["bad:3"], ["c:4"]]
    assert run.discarded == [(["3"], 2, "RetryAttemptsExhausted")]


def test_without_bisect_the_whole_batch_is_retried_then_handed_over(tmp_path: Path) -> None:
    run = Run(tmp_path, maximum_retry_attempts=2)
    calls = run.deliver([_record("a", 1), _record("bad", 2)])
    assert calls == [["a:1", "bad:2"]] * 3
    assert run.discarded == [(["1", "2"], 3, "RetryAttemptsExhausted")]


def test_report_batch_item_failures_resumes_from_the_first_failed_sequence_number(tmp_path: Path) -> None:
    run = Run(tmp_path, report_batch_item_failures=True, maximum_retry_attempts=1)
    calls = run.deliver([_record("a", 1), _record("report", 2), _record("b", 3)])
    assert calls == [["a:1", "report:2", "b:3"], ["report:2", "b:3"]]
    assert run.discarded == [(["2", "3"], 2, "RetryAttemptsExhausted")]


def test_records_older_than_the_maximum_age_are_handed_over_without_an_invocation(tmp_path: Path) -> None:
    run = Run(tmp_path, maximum_record_age=60)
    run.poller._run("arn", "shardId-0", [_record("a", 1, age=120), _record("b", 2, age=120)])
    assert not run.calls_file.exists()
    assert run.discarded == [(["1", "2"], 0, "RecordAgeExceeded")]


@pytest.mark.parametrize("factor", [1, 3])
def test_parallelization_keeps_each_partition_key_in_order(tmp_path: Path, factor: int) -> None:
    run = Run(tmp_path, parallelization_factor=factor)
    keys = ["k1", "k2", "k3", "k4"]
    calls = run.deliver([_record(keys[i % 4], i) for i in range(12)])
    for key in keys:
        seen = [int(c.split(":")[1]) for call in calls for c in call if c.startswith(key + ":")]
        assert seen == sorted(seen) and len(seen) == 3
    assert (len(calls) == 1) == (factor == 1)  # split into lanes by key only with a factor above 1
