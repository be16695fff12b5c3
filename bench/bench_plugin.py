"""What the pytest plugin costs a test: the `lightbox` fixture, and one photo through real triggers.

    .venv/bin/python bench/bench_plugin.py [--quick]

Both rows are measured against a baseline taken in the same run, on the same Redis and moto
servers, alternating so machine noise lands on both alike:

* One photo from upload to completed on the plugin (POST /uploads through the gateway,
  presigned POST to S3, bucket notification -> poll -> RQ -> ingest -> four stage queues, every
  handler in its own thread as the runtime runs it) against the same handlers called directly
  with the same event (the photo tests' PhotoEnv harness: moto SQS queues pumped by hand).
* The fixture's own cost per test (reset the servers, load template.yaml, create the bucket
  and its notification, tear down, reset again) against the direct photo above: how much a test
  pays for the plugin next to the work it tests.

Prints a markdown table and writes it to docs/benchmarks.md under "## Test plugin".
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "photolib" / "python"), str(ROOT / "tests" / "integration" / "photo")]
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3
import redis
from photo_harness import CORPUS, TOKEN_SECRET, PhotoApp, PhotoEnv

from bench.report import write_section
from bench.timing import ms_since, p50
from lightbox.testing import Lightbox, TestServers
from photolib.config import DEFAULT_PIPELINE

TITLE = "Test plugin"
PHOTOS = [CORPUS / "exif" / "DSCN0010.jpg", CORPUS / "mobile" / "jolla.jpg"]


def load_function(name: str) -> ModuleType:
    """The photo tests' way of calling a handler directly: its app.py imported by path."""
    module_name = f"bench_fn_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


def direct_env(servers: TestServers, work: Path) -> PhotoEnv:
    suffix = uuid.uuid4().hex[:8]
    s3 = boto3.client("s3", endpoint_url=servers.s3_endpoint)
    sqs = boto3.client("sqs", endpoint_url=servers.s3_endpoint)
    bucket = f"photos-{suffix}"
    s3.create_bucket(Bucket=bucket)
    queues = {stage: sqs.create_queue(QueueName=f"{stage}-{suffix}")["QueueUrl"] for stage in DEFAULT_PIPELINE}
    db = work / f"{suffix}.db"
    os.environ.update({
        "AWS_ENDPOINT_URL_S3": servers.s3_endpoint, "AWS_ENDPOINT_URL_SQS": servers.s3_endpoint,
        "PHOTOS_BUCKET": bucket, "PHOTOS_DB_PATH": str(db), "REDIS_URL": servers.redis_url,
        "EVENTS_STREAM": f"events-{suffix}", "TOKEN_SECRET": TOKEN_SECRET,
        **{f"{s.upper()}_QUEUE_URL": u for s, u in queues.items()},
    })
    return PhotoEnv(bucket, queues, s3, sqs, redis.Redis.from_url(servers.redis_url), f"events-{suffix}", db,
                    load_function)


def direct_round(servers: TestServers, work: Path, photo: Path) -> float:
    env = direct_env(servers, work)
    started = time.perf_counter()
    photo_id = env.upload_via_post(photo)
    env.fn("ingest").handler(env.bucket_event(photo_id), None)
    env.run_queues()
    took = ms_since(started)
    assert env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]
    return took


def plugin_round(servers: TestServers, work: Path, photo: Path) -> tuple[float, float]:
    """(upload to completed, the fixture's setup + teardown), as the `lightbox` fixture runs them."""
    db = work / f"{uuid.uuid4().hex}.db"
    started = time.perf_counter()
    servers.reset()
    box = Lightbox(servers, ROOT / "template.yaml", {"PhotosDbPath": str(db), "TokenSecret": TOKEN_SECRET})
    setup = ms_since(started)
    app = PhotoApp(box, db)
    started = time.perf_counter()
    photo_id = app.upload_via_post(photo)
    took = ms_since(started)
    assert app.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]
    started = time.perf_counter()
    box.close()
    servers.reset()
    return took, setup + ms_since(started)


def run(n: int, work: Path) -> str:
    servers = TestServers.start(work)
    rows = []
    try:
        for photo in PHOTOS:
            plugin_ms, direct_ms, fixture_ms = [], [], []
            for i in range(n + 1):  # the first round warms imports and clients, and is not counted
                servers.reset()
                direct = direct_round(servers, work, photo)
                plugin, fixture = plugin_round(servers, work, photo)
                if i:
                    direct_ms.append(direct)
                    plugin_ms.append(plugin)
                    fixture_ms.append(fixture)
            base = p50(direct_ms)
            for what, values in ((f"{photo.name}: upload to completed on the plugin", plugin_ms),
                                 (f"{photo.name}: the fixture's setup + teardown", fixture_ms)):
                median = p50(values)
                rows.append(f"| {what} | {n} | {median:.1f} | {max(values):.1f} | handlers called directly, same "
                            f"photo | {base:.1f} | {median / base:.2f}x |")
    finally:
        servers.stop()
    header = ("| measured | n | median ms | max ms | baseline, same run | baseline median ms | ratio |\n"
              "| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    return header + "\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table = run(5 if args.quick else 15, Path(tmp))
    text = (f"Median of interleaved rounds on a shared box (nproc = {os.cpu_count()}; numbers move by tens of "
            f"percent between runs), Python {sys.version.split()[0]}, embedded redis-server and moto server"
            f"{', `--quick`' if args.quick else ''}. DSCN0010.jpg is 640x480 (the plugin's overhead shows most), "
            "jolla.jpg 3264x2448 (the image work dominates).\n\n" + table)
    print(text)
    write_section(TITLE, text)


if __name__ == "__main__":
    main()
