"""SNS Publish -> handler start and EventBridge PutEvents -> handler start, through `lightbox up`'s stack.

    .venv/bin/python bench/bench_events.py [--quick]

One Stack (embedded redis-server and moto server, one worker process) runs a function subscribed to
a topic and targeted by a rule on the default bus; the handler's first line records time.time_ns()
in Redis. Each measured call is boto3 against the embedded moto server, as a function's own
Publish/PutEvents would be: moto answers, its front hands the message to the gateway, which
queues the async invoke, which a worker runs. Baseline, in the same run and interleaved with the
measured calls: the same call to a topic with no subscriber / an event no rule matches (the call's
round trip alone). Prints a markdown table and writes it to docs/benchmarks.md under
"## SNS and EventBridge". No timed assertions: the target (p50 under 50 ms) is reported.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
from redis import Redis

from bench.report import write_section
from bench.timing import percentile as pct
from lightbox.config import Settings
from lightbox.stack.up import Stack

TITLE = "SNS and EventBridge"
KEY = "bench:events:stamp"
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: bench}}
  Quiet: {Type: AWS::SNS::Topic, Properties: {TopicName: bench-quiet}}
  StampFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      CodeUri: fn/
      Handler: app.handler
      Events:
        Published: {Type: SNS, Properties: {Topic: !Ref Topic}}
        Put: {Type: EventBridgeRule, Properties: {Pattern: {source: [bench.events]}}}
"""
HANDLER = f"""\
import os
import time

import redis

_redis = redis.Redis.from_url(os.environ["REDIS_URL"])


def handler(event, context):
    _redis.rpush("{KEY}", time.time_ns())
"""


def measure(n: int, call: Callable[[], None], baseline: Callable[[], None], conn: Redis) -> tuple[
        list[float], list[float], list[float]]:
    """(call -> handler start, call returns, baseline call returns), ms, interleaved."""
    total, returns, base = [], [], []
    for _ in range(n):
        start = time.time_ns()
        call()
        returned = time.time_ns()
        popped = conn.blpop([KEY], timeout=30)
        if popped is None:
            raise RuntimeError("the handler did not run within 30 s")
        total.append((int(popped[1]) - start) / 1e6)
        returns.append((returned - start) / 1e6)
        b = time.time_ns()
        baseline()
        base.append((time.time_ns() - b) / 1e6)
    return total, returns, base


def row(name: str, what: str, total: list[float], returns: list[float], base: list[float]) -> str:
    p50, p95, b50, b95 = pct(total, 50), pct(total, 95), pct(base, 50), pct(base, 95)
    verdict = "met" if p50 < 50 else "not met"
    return (f"| {name} | {len(total)} | {p50:.2f} | {p95:.2f} | {pct(returns, 50):.2f} | {what} | {b50:.2f} | "
            f"{b95:.2f} | +{p50 - b50:.2f} | {p50 / b50:.1f}x | p50 under 50 ms: {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 calls per path instead of 200")
    args = parser.parse_args()
    n = 30 if args.quick else 200
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-events-") as tmp:
        folder = Path(tmp)
        (folder / "fn").mkdir()
        (folder / "fn" / "app.py").write_text(HANDLER)
        (folder / "template.yaml").write_text(TEMPLATE)
        settings = Settings.load(template=folder / "template.yaml", port=0, workers=1, data_dir=folder / "data")
        stack = Stack(settings).start()
        try:
            kwargs = {"endpoint_url": settings.s3_endpoint, "region_name": "us-east-1",
                      "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
            sns, events = boto3.client("sns", **kwargs), boto3.client("events", **kwargs)
            topic, quiet = (sns.create_topic(Name=name)["TopicArn"] for name in ("bench", "bench-quiet"))
            conn = stack.connection

            def put(source: str) -> Callable[[], None]:
                entry = {"Source": source, "DetailType": "Bench", "Detail": json.dumps({"n": 1})}
                return lambda: events.put_events(Entries=[entry]) and None

            for _ in range(5):  # warm: the worker's first invoke loads the handler
                sns.publish(TopicArn=topic, Message="warm")
                conn.blpop([KEY], timeout=60)
            rows = [
                row("SNS Publish -> handler start", "Publish to a topic with no subscriber",
                    *measure(n, lambda: sns.publish(TopicArn=topic, Message="x") and None,
                             lambda: sns.publish(TopicArn=quiet, Message="x") and None, conn)),
                row("PutEvents -> handler start", "PutEvents no rule matches",
                    *measure(n, put("bench.events"), put("bench.nobody"), conn)),
            ]
        finally:
            stack.stop()
    table = "\n".join([
        f"Latency in ms on a shared 2-core box (numbers move by tens of percent between runs), Python "
        f"{sys.version.split()[0]}, one worker process, embedded redis-server and moto server, one call at a time. "
        "The measured call is boto3 against the embedded moto server; its front hands the message or event to the "
        "gateway before moto's answer goes back (services/published.py), the gateway queues the async invoke "
        "(sns/delivery.py, eventbridge/bus.py), a worker runs it; the handler's first line stamps time.time_ns() "
        "into Redis. Baseline: the same call with no subscriber or matching rule, interleaved in the same run. "
        "The handler can start before the caller has its answer: the hand-over happens before moto's answer "
        "travels back, as on AWS a delivery is under way once Publish has answered.",
        "",
        "| path | n | p50 | p95 | call returns p50 | baseline, same run | base p50 | base p95 | added at p50 "
        "| ratio at p50 | target |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
    ])
    print(table)
    write_section(TITLE, table)


if __name__ == "__main__":
    main()
