"""The embedded S3 server's cost per call: `lightbox.services.cloud` against `python -m moto.server`.

    .venv/bin/python bench/bench_s3_server.py [--calls 300] [--rounds 3] [--no-write]

Both servers are started here, on free ports, and called with the same boto3 client settings
the photo functions use (the presigned POST with requests, as a browser sends it), in
interleaved rounds; each round runs every call kind `--calls` times
against each server. Measured per call: the server process's CPU (/proc, user + system), the
client's CPU (process time) and the wall time. CPU, unlike wall time, does not move much with
the machine's other load. The medians of the rounds are compared. Prints markdown and writes it
to docs/benchmarks.md under "## Embedded S3 server".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline_stack import process_cpu
from bench.report import write_section
from lightbox.services.processes import start_s3

TITLE = "Embedded S3 server"
SERVERS = ("moto.server", "lightbox.services.cloud")
BUCKET = "bench-s3-server"


def calls(s3: Any) -> dict[str, Callable[[], object]]:
    """The calls a photo makes, at sizes a photo's blobs have."""
    original, small = os.urandom(3_000_000), os.urandom(30_000)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="original", Body=original, ContentType="image/jpeg")
    form = s3.generate_presigned_post(
        Bucket=BUCKET, Key="upload", Fields={"Content-Type": "image/jpeg"}, ExpiresIn=3600,
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", len(original), len(original)]])

    def upload() -> None:
        r = requests.post(form["url"], data=form["fields"], files={"file": ("p.jpg", original, "image/jpeg")},
                          timeout=30)
        r.raise_for_status()

    return {
        "POST 3 MB (a presigned upload)": upload,
        "HEAD": lambda: s3.head_object(Bucket=BUCKET, Key="original"),
        "GET 3 MB (an original)": lambda: s3.get_object(Bucket=BUCKET, Key="original")["Body"].read(),
        "PUT 30 KB (a thumbnail)": lambda: s3.put_object(Bucket=BUCKET, Key="thumb", Body=small,
                                                          ContentType="image/jpeg"),
    }


def measure(module: str, count: int) -> dict[str, tuple[float, float, float]]:
    """Call kind -> (server CPU ms, client CPU ms, wall ms) per call."""
    s3_server = start_s3(module=module)
    proc, url = s3_server.proc, s3_server.url
    try:
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 1}),
        )
        out = {}
        for name, call in calls(s3).items():
            for _ in range(10):  # warm: imports, first-request setup
                call()
            server, client, wall = process_cpu(proc.pid), time.process_time(), time.perf_counter()
            for _ in range(count):
                call()
            out[name] = ((process_cpu(proc.pid) - server) / count * 1000,
                         (time.process_time() - client) / count * 1000,
                         (time.perf_counter() - wall) / count * 1000)
        return out
    finally:
        s3_server.stop()


def report(results: dict[str, list[dict[str, tuple[float, float, float]]]], count: int, rounds: int) -> str:
    def median(module: str, name: str, i: int) -> float:
        return statistics.median(r[name][i] for r in results[module])

    lines = [
        (f"Per call, median of {rounds} interleaved rounds of {count} calls each, boto3 with the photo "
         "functions' client settings (the presigned POST: requests, as a browser sends it), 2 CPUs shared "
         f"(nproc = {os.cpu_count()}), Python "
         f"{sys.version.split()[0]}. Baseline: `python -m moto.server`, as moto ships it, in the same run. "
         "`lightbox.services.cloud` is the same moto app with its backend lookup cached per host (moto lists "
         "and stats its ~200 package folders on every request), no log line per request, and S3's presigned "
         "checks, which read a POST form's policy before moto reads the form again (local/s3_presigned.py)."),
        "",
        ("| call | moto.server CPU ms | lightbox.services.cloud CPU ms | server CPU ratio | client CPU ms "
         "(both) | wall ms, moto.server | wall ms, lightbox.services.cloud |"),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in results["moto.server"][0]:
        base, ours = median("moto.server", name, 0), median("lightbox.services.cloud", name, 0)
        lines.append(
            f"| {name} | {base:.2f} | {ours:.2f} | **{ours / base:.2f}x** | "
            f"{median('moto.server', name, 1):.2f} / {median('lightbox.services.cloud', name, 1):.2f} | "
            f"{median('moto.server', name, 2):.2f} | {median('lightbox.services.cloud', name, 2):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results: dict[str, list[dict[str, tuple[float, float, float]]]] = {m: [] for m in SERVERS}
    for _ in range(args.rounds):
        for module in SERVERS:
            results[module].append(measure(module, args.calls))
    table = report(results, args.calls, args.rounds)
    print(table)
    if not args.no_write:
        write_section(TITLE, table)


if __name__ == "__main__":
    main()
