"""Worker turnaround: how fast one worker drains a backlog of queue messages whose handler does nothing.

    .venv/bin/python bench/bench_worker.py [--jobs 400] [--rounds 3] [--no-write]

One embedded redis-server; in interleaved rounds, the same number of jobs is queued and drained in
burst mode by:
  - RQ's own SimpleWorker on a plain RQ queue, the job a no-op function (the baseline: RQ alone);
  - the Lightbox worker (`lightbox.queueing.worker.run_worker`) on SQS messages sent through the broker, as
    `lightbox up` sends them, the handler a no-op Lambda function from a one-function SAM template;
  - the same with redis-py's pure-Python reply parser instead of hiredis.
Per job: wall from RQ's own timestamps (first job started -> last job ended, / jobs) and the worker
process's CPU. What is left over RQ alone is the emulator's share: the SQS-shaped event, the
runtime's invocation (a warm sandbox thread, its log line) and the recoverable take and claim.
Medians of the rounds. Prints markdown and writes it to docs/benchmarks.md under "## Worker turnaround".
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis
from redis._parsers import _RESP2Parser
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FinishedJobRegistry
from rq.serializers import JSONSerializer

from bench.report import write_section
from bench.timing import p50
from lightbox.queueing.worker import run_worker
from lightbox.runtime.invoke import Runtime
from lightbox.services.processes import start_redis
from lightbox.sqs.messages import new_message
from lightbox.sqs.queues import Broker
from lightbox.template.loader import load_template

TITLE = "Worker turnaround"
QUEUE = "bench-work"
TEMPLATE = f"""\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: {QUEUE}
  Noop:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Runtime: python3.11
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 1
"""


def per_job(conn: redis.Redis, queue: str, drain: Callable[[], object], jobs: int) -> tuple[float, float]:
    """(wall ms, worker CPU ms) per job for one drain of `jobs` queued jobs."""
    cpu = time.process_time()
    drain()
    cpu = time.process_time() - cpu
    registry = FinishedJobRegistry(queue=Queue(queue, connection=conn, serializer=JSONSerializer))
    done = [j for j in Job.fetch_many(registry.get_job_ids(), connection=conn, serializer=JSONSerializer) if j]
    assert len(done) == jobs, f"{len(done)} of {jobs} jobs finished on {queue}"
    started = min(j.started_at for j in done if j.started_at)
    ended = max(j.ended_at for j in done if j.ended_at)
    conn.flushdb()
    return (ended - started).total_seconds() * 1000 / jobs, cpu * 1000 / jobs


def rq_alone(conn: redis.Redis, jobs: int) -> tuple[float, float]:
    q = Queue("bench-rq", connection=conn, serializer=JSONSerializer)
    for i in range(jobs):
        q.enqueue("builtins.abs", i)  # a no-op RQ imports by name, as it does a job's function
    worker = SimpleWorker([q], connection=conn, serializer=JSONSerializer)
    return per_job(conn, "bench-rq", lambda: worker.work(burst=True, logging_level="CRITICAL"), jobs)


def lightbox(conn: redis.Redis, runtime: Runtime, jobs: int) -> tuple[float, float]:
    broker = Broker(runtime.template, conn)
    for i in range(jobs):
        broker.send(QUEUE, [new_message(str(i))])
    return per_job(conn, QUEUE, lambda: run_worker(runtime, conn, burst=True), jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-worker-") as tmp:
        app = Path(tmp) / "app"
        (app / "fn").mkdir(parents=True)
        (app / "template.yaml").write_text(TEMPLATE)
        (app / "fn" / "app.py").write_text("def handler(event, context):\n    return None\n")
        runtime = Runtime(load_template(app / "template.yaml"), hot_reload=False)
        server = start_redis(Path(tmp), appendonly=False)
        try:
            fast = redis.Redis.from_url(server.url)
            plain = redis.Redis(connection_pool=redis.ConnectionPool.from_url(server.url, parser_class=_RESP2Parser))
            fast.flushdb()
            sides: dict[str, Callable[[], tuple[float, float]]] = {
                "RQ SimpleWorker, no-op function (baseline)": lambda: rq_alone(fast, args.jobs),
                "Lightbox worker, no-op Lambda on SQS messages": lambda: lightbox(fast, runtime, args.jobs),
                "the same, without hiredis (redis-py's Python parser)": lambda: lightbox(plain, runtime, args.jobs),
            }
            for run in sides.values():  # warm-up: imports, the function's first load, scripts cached
                run()
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
            for _ in range(args.rounds):
                for name, run in sides.items():
                    results[name].append(run())
        finally:
            server.stop()
    table = report(results, args.jobs)
    print(table)
    if not args.no_write:
        write_section(TITLE, table)
        print(f"\nwritten to {Path('docs') / 'benchmarks.md'} under '## {TITLE}'")


def report(results: dict[str, list[tuple[float, float]]], jobs: int) -> str:
    medians = {name: (p50(w for w, _ in r), p50(c for _, c in r))
               for name, r in results.items()}
    base_wall, base_cpu = next(iter(medians.values()))
    lines = [
        (
            f"One worker draining a backlog of {jobs} jobs in burst mode, one embedded redis-server, median of "
            f"{len(next(iter(results.values())))} interleaved rounds, `os.cpu_count()` = {os.cpu_count()}, Python "
            f"{platform.python_version()}. Wall per job from RQ's own timestamps (first started -> last ended); "
            "CPU is the worker process's."
        ),
        "",
        "| worker | ms per job | vs RQ alone | worker CPU ms per job | vs RQ alone |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (wall, cpu) in medians.items():
        lines.append(f"| {name} | {wall:.2f} | {wall / base_wall:.2f}x | {cpu:.2f} | {cpu / base_cpu:.2f}x |")
    lines += [
        "",
        (
            "A no-op job's time is RQ's bookkeeping (execution records, registries, the result, worker stats): the "
            "Lightbox worker sends about 47 Redis commands per job, most of them RQ's. Before commit 2f40895 they "
            "took 21 round trips (RQ's plain heartbeat alone, three commands sent one by one, four times around "
            "every job); 10 now. The same script then measured 6.74 ms per job, 1.35x RQ alone."
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
