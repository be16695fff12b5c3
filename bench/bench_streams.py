"""Stream and queue event sources under a real `lightbox up`: how soon a DynamoDB write reaches its
stream handler, and how Lambda's SQS poller gathers messages sent one by one into batches.

    .venv/bin/python bench/bench_streams.py [--writes 200] [--messages 1000] [--no-write]

One moto server (the table is made on it before `up` starts), one `lightbox up` with two workers:
  - PutItem -> stream handler start: the handler records when it starts; the latency is from just
    before the PutItem call. Baseline in the same run: the same PutItem on a table with no mapping
    (the call alone), so the ratio is what the stream delivery adds.
  - SQS batch gathering: `--messages` SendMessage calls one by one to a queue whose function has
    BatchSize 10 and MaximumBatchingWindowInSeconds 1; how many invocations delivered them all.
Prints markdown and writes it to docs/benchmarks.md under "## Stream and queue event sources".
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import redis

from bench.report import write_section
from bench.timing import p50, percentile
from lightbox.services.processes import start_redis, start_s3
from lightbox.testing.up import start_up

TITLE = "Stream and queue event sources"
TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Mapped:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: bench-mapped
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Changes:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.changes
      Runtime: python3.12
      Events:
        Stream:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Mapped.StreamArn, StartingPosition: LATEST, BatchSize: 1}
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {QueueName: bench-jobs}
  Batches:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.batches
      Runtime: python3.12
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 10, MaximumBatchingWindowInSeconds: 1}
"""
HANDLERS = """\
import os, time
import redis
r = redis.Redis.from_url(os.environ["REDIS_URL"])

def changes(event, context):
    now = time.time()
    for record in event["Records"]:
        r.hset("bench:started", record["dynamodb"]["Keys"]["pk"]["S"], now)

def batches(event, context):
    r.rpush("bench:batches", len(event["Records"]))
"""
LOG: list[Path] = []
KW: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def make_tables(endpoint: str) -> Any:
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **KW)
    for name, stream in (("bench-mapped", True), ("bench-plain", False)):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         **({"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}
                            if stream else {}))
    return ddb


def wait_for_mapping(ddb: Any, r: redis.Redis) -> None:
    """StartingPosition LATEST: writes before the poller has its iterator are not delivered (on AWS
    too, before the mapping is Enabled). Write until one is."""
    for i in range(100):
        ddb.put_item(TableName="bench-mapped", Item={"pk": {"S": f"ready{i}"}})
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if r.hget("bench:started", f"ready{i}") is not None:
                return
            time.sleep(0.01)
    raise RuntimeError(f"the stream mapping never delivered: {LOG[0].read_text()[-3000:]}")


def stream_latency(ddb: Any, r: redis.Redis, writes: int) -> tuple[list[float], list[float]]:
    """(PutItem alone on the plain table, PutItem -> handler start on the mapped one), in ms."""
    plain, delivered = [], []
    for i in range(writes):
        t0 = time.time()
        ddb.put_item(TableName="bench-plain", Item={"pk": {"S": f"p{i}"}})
        plain.append((time.time() - t0) * 1000)
        key = f"m{i}"
        t0 = time.time()
        ddb.put_item(TableName="bench-mapped", Item={"pk": {"S": key}})
        deadline = time.monotonic() + 10
        while (started := r.hget("bench:started", key)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{key} never reached the stream handler: {LOG[0].read_text()[-3000:]}")
            time.sleep(0.001)
        delivered.append((float(started) - t0) * 1000)
    return plain, delivered


def gather(sqs: Any, r: redis.Redis, messages: int) -> tuple[int, float]:
    """(invocations, seconds) for `messages` sent one by one."""
    url = sqs.get_queue_url(QueueName="bench-jobs")["QueueUrl"]
    t0 = time.monotonic()
    for i in range(messages):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i}))
    deadline = time.monotonic() + 120
    while sum(int(x) for x in r.lrange("bench:batches", 0, -1)) < messages:
        if time.monotonic() > deadline:
            raise RuntimeError("not every message was delivered")
        time.sleep(0.05)
    return int(r.llen("bench:batches")), time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-streams-") as tmp:
        app = Path(tmp) / "app"
        (app / "fn").mkdir(parents=True)
        (app / "template.yaml").write_text(TEMPLATE)
        (app / "fn" / "app.py").write_text(HANDLERS)
        cloud = start_s3()
        store = start_redis(Path(tmp), appendonly=False)
        up = None
        try:
            ddb = make_tables(cloud.url)
            up = start_up(Path(tmp), ["-t", str(app / "template.yaml"), "-w", "2", "--redis-url", store.url,
                                      "--s3-endpoint", cloud.url], env={"LIGHTBOX_CLOUD_ENDPOINT": cloud.url},
                             cwd=ROOT)
            r = redis.Redis.from_url(store.url)
            LOG.append(up.log_path)
            wait_for_mapping(ddb, r)
            stream_latency(ddb, r, 10)  # warm-up: the function's first load
            plain, delivered = stream_latency(ddb, r, args.writes)
            sqs = boto3.client("sqs", endpoint_url=f"{up.url}/_lightbox/sqs", **KW)
            invocations, seconds = gather(sqs, r, args.messages)
        finally:
            if up is not None:
                up.stop()
            store.stop()
            cloud.stop()
    table = report(plain, delivered, invocations, seconds, args.messages)
    print(table)
    if not args.no_write:
        write_section(TITLE, table)
        print(f"\nwritten to {Path('docs') / 'benchmarks.md'} under '## {TITLE}'")


def report(plain: list[float], delivered: list[float], invocations: int, seconds: float, messages: int) -> str:
    d50, d95 = p50(delivered), percentile(delivered, 95)
    b50, b95 = p50(plain), percentile(plain, 95)
    return "\n".join([
        f"{platform.machine()}, Python {platform.python_version()}; `lightbox up -w 2` on an embedded moto server; "
        f"{len(delivered)} writes, after 10 to warm up.",
        "",
        "| DynamoDB PutItem | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
        f"| on a table with no mapping: the call alone (baseline) | {b50:.1f} | {b95:.1f} |",
        f"| on a table with a stream mapping: until the handler starts | {d50:.1f} | {d95:.1f} |",
        f"| ratio | {d50 / b50:.1f}x | {d95 / b95:.1f}x |",
        "",
        f"SQS batch gathering: {messages} messages sent one by one (SendMessage, {messages / seconds:.0f}/s end to "
        f"end) to a function with BatchSize 10 and MaximumBatchingWindowInSeconds 1 reached it in **{invocations} "
        f"invocations** (target: at most 110; {messages // 10} is the least possible).",
    ])


if __name__ == "__main__":
    main()
