"""Emulator latency: HTTP through the gateway, bucket event -> handler, SQS send -> handler.

    .venv/bin/python bench/bench_emulator.py [--quick]

Each path is measured against a baseline taken in the same run, on the same servers:

* HTTP: the gateway (route match, API Gateway event, Runtime.invoke, response mapping) against
  the same handler called from a bare Flask route. Both are served by the gateway's own server
  (apigateway/http_server.py: werkzeug's threaded server, keeping connections alive) in this
  process, both reached over real HTTP on loopback with a keep-alive `requests.Session`, and
  requests alternate between them so noise lands on both alike. Real HTTP is the row the target
  is judged on, because that is what a user's client pays. The same pair through test_client
  (no socket) is reported too: it isolates the gateway's own work.
* Bucket event: boto3 put_object to the embedded S3 server (moto) -> S3 notification to its
  SQS queue -> the emulator's poller -> RQ -> worker -> handler, whose first line records
  time.time_ns() in Redis. Baseline: put_object to a bucket with no notification.
* SQS: boto3 send_message to the emulator's SQS endpoint -> RQ -> worker -> handler.
  Baseline: a bare RQ enqueue -> rq.SimpleWorker job start on the same Redis.

RQ's own enqueued_at / started_at of each job split the event paths into legs. The SAM app
is written to a temporary directory at run time. Prints a markdown table and writes it to
docs/benchmarks.md under "## Emulator". No timed assertions: the targets are reported.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import requests
from flask import Flask, Response
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from bench.report import write_section
from bench.timing import percentile as pct
from lightbox import config
from lightbox.apigateway.http_server import make_gateway_server
from lightbox.config import Settings
from lightbox.services.processes import start_redis, start_s3
from lightbox.stack.up import Stack

TITLE = "Emulator"
BUCKET, PLAIN_BUCKET, QUEUE, BASELINE_QUEUE = "lightbox-bench", "lightbox-bench-plain", "lightbox-bench", "bench-rq"

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.11
    Timeout: 5
    Environment:
      Variables:
        REDIS_URL: ""
Resources:
  PingFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.ping
      Events:
        Ping:
          Type: HttpApi
          Properties: {Path: /ping, Method: get}
  BenchBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: lightbox-bench
  UploadFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.on_upload
      Events:
        Upload:
          Type: S3
          Properties: {Bucket: !Ref BenchBucket, Events: "s3:ObjectCreated:*"}
  BenchQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: lightbox-bench
  QueueFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.on_message
      Events:
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt BenchQueue.Arn, BatchSize: 1}
"""

# The first line of each event handler takes the timestamp; what follows is not measured.
HANDLERS = '''\
import json, os, time
import redis

_conn = []  # one client per process, made on first use


def _redis():
    if not _conn:
        _conn.append(redis.Redis.from_url(os.environ["REDIS_URL"]))
    return _conn[0]


def ping(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"pong": true}'}


def on_upload(event, context):
    start_ns = time.time_ns()
    rec = event["Records"][0]
    _redis().rpush("bench:seen", json.dumps({"id": rec["s3"]["object"]["key"], "start_ns": start_ns}))


def on_message(event, context):
    start_ns = time.time_ns()
    _redis().rpush("bench:seen", json.dumps({"id": event["Records"][0]["body"], "start_ns": start_ns}))
'''

BASELINE_JOB = '''\
import json, os, time
import redis

_conn = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


def record(tag):
    start_ns = time.time_ns()
    _conn.rpush("bench:seen", json.dumps({"id": tag, "start_ns": start_ns}))
'''

BASELINE_WORKER = f'''\
import os
from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
conn = Redis.from_url(os.environ["BENCH_REDIS_URL"])
queue = Queue("{BASELINE_QUEUE}", connection=conn, serializer=JSONSerializer)
SimpleWorker([queue], connection=conn, serializer=JSONSerializer).work(logging_level="CRITICAL")
'''


# -- measuring -------------------------------------------------------------------------------
@dataclass
class Sample:
    """One event's timestamps (time.time_ns, one clock for every process on the box)."""

    start: int  # the client call began
    returned: int  # the client call returned
    handler: int  # the handler's first line ran
    enqueued: int = 0  # RQ's enqueued_at of the job
    started: int = 0  # RQ's started_at of the job (set by the worker just before it runs it)


def rq_ns(when: datetime | None) -> int:
    assert when is not None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1e9)


def idle() -> None:
    """A small random gap, so sends do not fall into step with a poll loop."""
    time.sleep(random.uniform(0.002, 0.012))


def trace(conn: Redis, send: Callable[[str], object], ids: list[str], warmup: int,
          between: Callable[[str], None] | None = None) -> list[Sample]:
    """Send one event at a time and wait for its handler: latency, not throughput."""
    samples = []
    for i, ident in enumerate(ids):
        start = time.time_ns()
        send(ident)
        returned = time.time_ns()
        popped = conn.blpop(["bench:seen"], timeout=15)
        if popped is None:
            raise RuntimeError(f"no handler ran for {ident!r} within 15 s")
        seen = json.loads(popped[1])
        if seen["id"] != ident:
            raise RuntimeError(f"expected the handler to see {ident!r}, it saw {seen['id']!r}")
        if i >= warmup:
            samples.append(Sample(start, returned, seen["start_ns"]))
        if between is not None:
            between(ident)
        idle()
    return samples


def add_job_times(conn: Redis, queue: str, ident: Callable[[Job], str], samples: list[Sample],
                  ids: list[str]) -> None:
    registry = FinishedJobRegistry(queue=Queue(queue, connection=conn, serializer=JSONSerializer))
    jobs = Job.fetch_many(registry.get_job_ids(), connection=conn, serializer=JSONSerializer)
    by_id = {ident(j): j for j in jobs if j is not None}
    for sample, i in zip(samples, ids[-len(samples):], strict=True):
        sample.enqueued, sample.started = rq_ns(by_id[i].enqueued_at), rq_ns(by_id[i].started_at)


def client(service: str, endpoint: str) -> Any:
    # Local servers take any credentials, but botocore will not sign without some.
    return boto3.client(service, endpoint_url=endpoint, region_name=config.REGION,
                        aws_access_key_id="lightbox", aws_secret_access_key="lightbox")


# -- 1. HTTP ---------------------------------------------------------------------------------
def bare_app(handler: Callable[[Any, Any], Any]) -> Flask:
    """The handler behind a plain route: no route table, event mapping, Runtime or response mapping."""
    app = Flask("bare")
    event = {"routeKey": "GET /ping", "rawPath": "/ping", "headers": {}, "isBase64Encoded": False}

    @app.get("/ping")
    def ping() -> Response:
        out = handler(event, None)
        return Response(out["body"], status=out["statusCode"], headers=out["headers"])

    return app


def alternate(calls: dict[str, Callable[[], int]], n: int, warmup: int) -> dict[str, list[float]]:
    """Time each call n times (ms), alternating which goes first, so noise lands on all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + n):
        for name in (list(calls) if i % 2 else list(reversed(calls))):
            start = time.perf_counter_ns()
            status = calls[name]()
            took = time.perf_counter_ns() - start
            if status != 200:
                raise RuntimeError(f"{name} answered {status}")
            if i >= warmup:
                times[name].append(took / 1e6)
    return times


def bench_http(stack: Stack, handler: Callable[[Any, Any], Any], n: int, warmup: int) -> dict[str, list[float]]:
    server = make_gateway_server("127.0.0.1", 0, bare_app(handler))  # the gateway's own server
    threading.Thread(target=server.serve_forever, name="bare-flask", daemon=True).start()
    try:
        with requests.Session() as gw, requests.Session() as bare:
            over_http = alternate({"gateway": lambda: gw.get(f"{stack.url}/ping", timeout=5).status_code,
                                   "bare": lambda: bare.get(f"http://127.0.0.1:{server.port}/ping",
                                                            timeout=5).status_code}, n, warmup)
    finally:
        server.shutdown()
    # The same pair through test_client: no socket, so only the gateway's own work differs.
    gw_client, bare_client = stack.app.test_client(), bare_app(handler).test_client()
    in_process = alternate({"gateway": lambda: gw_client.get("/ping").status_code,
                            "bare": lambda: bare_client.get("/ping").status_code}, n, warmup)
    return {**over_http, **{f"{k} in-process": v for k, v in in_process.items()}}


# -- 2. and 3. event paths -------------------------------------------------------------------
def bench_bucket_events(stack: Stack, conn: Redis, n: int, warmup: int) -> tuple[list[Sample], list[float]]:
    s3 = client("s3", str(stack.settings.s3_endpoint))
    s3.create_bucket(Bucket=PLAIN_BUCKET)
    plain: list[float] = []

    def plain_put(key: str) -> None:  # the baseline, taken between events so it meets the same load
        start = time.perf_counter_ns()
        s3.put_object(Bucket=PLAIN_BUCKET, Key=key, Body=b"x")
        plain.append((time.perf_counter_ns() - start) / 1e6)

    keys = [f"incoming/{i}.txt" for i in range(warmup + n)]
    samples = trace(conn, lambda key: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x"), keys, warmup, plain_put)
    add_job_times(conn, config.ASYNC_QUEUE, lambda j: j.args[1]["Records"][0]["s3"]["object"]["key"],
                  samples, keys)
    return samples, plain[warmup:]


def bench_sqs(stack: Stack, conn: Redis, n: int, warmup: int) -> list[Sample]:
    sqs = client("sqs", stack.settings.public_sqs_endpoint)
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    bodies = [f"m{i}" for i in range(warmup + n)]
    samples = trace(conn, lambda body: sqs.send_message(QueueUrl=url, MessageBody=body), bodies, warmup)
    add_job_times(conn, QUEUE, lambda j: j.args[2][0]["body"], samples, bodies)
    return samples


def bench_bare_rq(conn: Redis, n: int, warmup: int) -> list[Sample]:
    queue = Queue(BASELINE_QUEUE, connection=conn, serializer=JSONSerializer)
    tags = [f"r{i}" for i in range(warmup + n)]
    samples = trace(conn, lambda tag: queue.enqueue("benchjob.record", args=(tag,)), tags, warmup)
    add_job_times(conn, BASELINE_QUEUE, lambda j: j.args[0], samples, tags)
    return samples


# -- report ----------------------------------------------------------------------------------
def latency(samples: list[Sample]) -> list[float]:
    return [(s.handler - s.start) / 1e6 for s in samples]


def row(path: str, values: list[float], baseline: str, base: list[float], target: str, limit: float | None,
        added: bool = False) -> str:
    p50, b50 = pct(values, 50), pct(base, 50)
    judged = p50 - b50 if added else p50
    verdict = "" if limit is None else (": met" if judged <= limit else ": **missed**")
    return (f"| {path} | {len(values)} | {p50:.2f} | {pct(values, 95):.2f} | {pct(values, 99):.2f} | {baseline} "
            f"| {b50:.2f} | {pct(base, 95):.2f} | +{p50 - b50:.2f} | {p50 / b50:.1f}x | {target}{verdict} |")


def legs(path: str, samples: list[Sample]) -> str:
    parts = [[(s.returned - s.start) / 1e6 for s in samples], [(s.enqueued - s.start) / 1e6 for s in samples],
             [(s.started - s.enqueued) / 1e6 for s in samples], [(s.handler - s.started) / 1e6 for s in samples],
             latency(samples)]
    return f"| {path} | " + " | ".join(f"{pct(p, 50):.2f}" for p in parts) + f" | {pct(parts[-1], 95):.2f} |"


def report(http: dict[str, list[float]], s3: list[Sample], plain_put: list[float], sqs: list[Sample],
           rq: list[Sample]) -> str:
    return "\n".join([
        ("| path | n | p50 | p95 | p99 | baseline, same run | base p50 | base p95 | added at p50 "
        "| ratio at p50 | target |"),
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        row("HTTP GET, gateway, loopback HTTP", http["gateway"], "same handler on a bare Flask route",
            http["bare"], "at most +1 ms at p50", 1.0, added=True),
        row("HTTP GET, gateway, test_client", http["gateway in-process"], "bare Flask route, test_client",
            http["bare in-process"], "none (the gateway's own work, no socket)", None, added=True),
        row("S3 put_object -> handler start", latency(s3), "put_object RTT, bucket without notification",
            plain_put, "p50 under 50 ms", 50.0),
        row("SQS send_message -> handler start", latency(sqs), "bare RQ enqueue -> SimpleWorker job start",
            latency(rq), "p50 under 20 ms", 20.0),
        "",
        "Where the event paths spend it, p50 ms per leg (RQ's own enqueued_at / started_at of each job):",
        "",
        ("| path | client call returns | call start -> RQ enqueued | enqueued -> job started "
        "| job started -> handler | total | total p95 |"),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        legs("S3 put -> poller -> RQ -> worker", s3),
        legs("SQS send -> gateway -> RQ -> worker", sqs),
        legs("bare RQ enqueue -> SimpleWorker", rq),
    ])


# -- running it ------------------------------------------------------------------------------
def write_app(root: Path) -> Path:
    (root / "fn").mkdir(parents=True)
    (root / "fn" / "app.py").write_text(HANDLERS)
    (root / "benchjob.py").write_text(BASELINE_JOB)
    (root / "template.yaml").write_text(TEMPLATE)
    return root / "template.yaml"


def import_handler(root: Path, name: str) -> Callable[[Any, Any], Any]:
    spec = importlib.util.spec_from_file_location("bench_app", root / "fn" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)  # type: ignore[no-any-return]


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Children started inside inherit this stderr: the workers log a line per invocation."""
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(quick: bool, root: Path, cleanup: ExitStack) -> str:
    template = write_app(root)
    log = root / "children.log"
    redis_proc = start_redis(root / "redis", appendonly=False)
    cleanup.callback(redis_proc.stop)
    s3_proc = start_s3()
    cleanup.callback(s3_proc.stop)
    settings = Settings.load(template=template, port=0, workers=1, redis_url=redis_proc.url,
                             s3_endpoint=s3_proc.url, bucket_events="poll", retry_base=0.2, data_dir=root / "data")
    with stderr_to(log):
        stack = Stack(settings)
        cleanup.callback(stack.stop)
        stack.start()
        env = {**os.environ, "BENCH_REDIS_URL": redis_proc.url, "PYTHONPATH": str(root)}
        worker = subprocess.Popen([sys.executable, "-c", BASELINE_WORKER], env=env, cwd=root)
    cleanup.callback(stop_process, worker)
    conn = Redis.from_url(redis_proc.url)
    cleanup.callback(conn.close)
    http_n, events_n, sqs_n = (200, 40, 80) if quick else (800, 250, 400)
    try:
        http = bench_http(stack, import_handler(root, "ping"), http_n, warmup=50)
        s3, plain_put = bench_bucket_events(stack, conn, events_n, warmup=5)
        sqs = bench_sqs(stack, conn, sqs_n, warmup=10)
        rq = bench_bare_rq(conn, sqs_n, warmup=10)
    except Exception:
        print("children's log, last lines:\n" + "\n".join(log.read_text().splitlines()[-30:]), file=sys.stderr)
        raise
    return report(http, s3, plain_put, sqs, rq)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (under a minute)")
    args = parser.parse_args()
    # werkzeug logs every request of both servers alike; silenced so the output is the table.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-") as tmp, ExitStack() as cleanup:
        table = run(args.quick, Path(tmp), cleanup)
    intro = (
        f"Latency in ms, measured on a shared {os.cpu_count()}-core box (nproc = {os.cpu_count()}; numbers move "
        f"by tens of percent between runs), Python {sys.version.split()[0]}, one worker "
        f"process, embedded redis-server and moto server{', `--quick`' if args.quick else ''}. Every baseline is "
        "measured in the same run on the same servers. HTTP: both routes are served by the gateway's own "
        "keep-alive server (werkzeug's threaded server with lightbox's handler) in one process, called "
        "alternately with a keep-alive `requests.Session`. The test_client row removes the socket. Event "
        "paths: one event at a time, the handler's first line stamps `time.time_ns()` into Redis."
    )
    text = f"{intro}\n\n{table}"
    print(text)
    write_section(TITLE, text)
    print(f"\nwritten to docs/benchmarks.md under '## {TITLE}' ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
