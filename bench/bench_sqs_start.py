"""SQS SendMessage -> handler start under `lightbox up`: execution environments against the thread model.

    .venv/bin/python bench/bench_sqs_start.py [--messages 300] [--quick] [--no-write]

Two real `lightbox up` processes on bench/apps/invoke/template.yaml, each with its embedded Redis and
S3: one as shipped (the queue's function in its execution environment), one with
LIGHTBOX_ISOLATION=thread (the handler on a worker's thread, the model environments replaced). One
message at a time, alternating between the two: the client stamps time.time_ns() into the body just
before boto3's send_message to the stack's SQS endpoint; the handler's first line takes time.time_ns()
and pushes both to Redis, where the client waits for it. The gap is send -> handler start, one clock.
The call's own round trip (until SendMessage answers) is reported as the floor. Warm-up messages first
(the environment's cold start) are not counted. Prints markdown and writes it to docs/benchmarks.md
under "## SQS send -> handler start". No timed assertions.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3
import redis

from bench.http_targets import APP
from bench.report import write_section
from bench.timing import load_note, percentile
from lightbox.testing.up import UpProcess, start_up

TITLE = "SQS send -> handler start"
COMMAND = ".venv/bin/python bench/bench_sqs_start.py"
MODES = {"process": "`lightbox up`, execution environment", "thread": "`lightbox up`, LIGHTBOX_ISOLATION=thread"}
KEY = "bench:started"


class Target:
    """One `lightbox up`, its SQS client and the Redis its handler reports to."""

    def __init__(self, tmp: Path, isolation: str) -> None:
        data = tmp / isolation
        data.mkdir()
        self.up: UpProcess = start_up(data, ["-t", str(APP / "template.yaml")],
                                      env={"LIGHTBOX_ISOLATION": isolation}, cwd=ROOT)
        self.redis = redis.Redis.from_url(self.up.redis_url)
        self.sqs: Any = boto3.client("sqs", endpoint_url=f"{self.up.url}/_lightbox/sqs", region_name="us-east-1",
                                     aws_access_key_id="bench", aws_secret_access_key="bench")
        self.queue = self.sqs.get_queue_url(QueueName="bench-start")["QueueUrl"]
        self.gaps: list[float] = []  # ms, send stamp -> handler start
        self.calls: list[float] = []  # ms, send stamp -> SendMessage answered

    def one(self, ident: int, record: bool) -> None:
        sent = time.time_ns()
        self.sqs.send_message(QueueUrl=self.queue, MessageBody=json.dumps({"id": ident, "sent_ns": sent}))
        answered = time.time_ns()
        popped = self.redis.blpop([KEY], timeout=30)
        if popped is None:
            raise RuntimeError(f"message {ident} never reached the handler:\n{self.up.log_path.read_text()[-3000:]}")
        seen = json.loads(popped[1])
        if seen["id"] != ident:
            raise RuntimeError(f"expected message {ident}, the handler saw {seen['id']}")
        if record:
            self.gaps.append((seen["started_ns"] - sent) / 1e6)
            self.calls.append((answered - sent) / 1e6)

    def stop(self) -> None:
        self.redis.close()
        self.up.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="timed messages per target")
    parser.add_argument("--quick", action="store_true", help="60 messages")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    messages, warmup = (60 if args.quick else args.messages), 20
    targets: dict[str, Target] = {}
    with tempfile.TemporaryDirectory(prefix="lightbox-bench-sqs-") as tmp:
        try:
            for isolation in MODES:
                targets[isolation] = Target(Path(tmp), isolation)
            for i in range(warmup + messages):
                for target in targets.values() if i % 2 else reversed(targets.values()):
                    target.one(i, record=i >= warmup)
                    time.sleep(random.uniform(0.002, 0.012))  # sends do not fall into step with any loop
            load = load_note()
        finally:
            for target in targets.values():
                target.stop()
    text = report(targets, messages, warmup, load)
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
        print(f"\nwritten to docs/benchmarks.md under '## {TITLE}'")


def report(targets: dict[str, Target], messages: int, warmup: int, load: str) -> str:
    lines = [
        f"`{COMMAND}`. A queue-triggered Python function (bench/apps/invoke, BatchSize 1) on two `lightbox up` "
        f"processes with their default workers, {messages} messages each, one at a time, alternating, after "
        f"{warmup} warm-up messages; the body carries the send stamp, the handler's first line takes its own "
        f"(time.time_ns, one clock). {platform.machine()}, Python {platform.python_version()}, {load} at the end "
        f"of the run, {time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
        "| stack | send -> handler start p50 ms | p95 ms | SendMessage answered p50 ms (floor) | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for isolation, target in targets.items():
        mid = percentile(target.gaps, 50)
        judged = "p50 under 10 ms: " + ("met" if mid < 10 else "**missed**") if isolation == "process" else "-"
        lines.append(f"| {MODES[isolation]} | {mid:.2f} | {percentile(target.gaps, 95):.2f} | "
                     f"{percentile(target.calls, 50):.2f} | {judged} |")
    env, thread = (percentile(targets[m].gaps, 50) for m in MODES)
    lines += ["", f"Environments against the thread model at p50: {env - thread:+.2f} ms ({env / thread:.2f}x)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
