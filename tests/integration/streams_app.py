"""tests/apps/streams under a real `lightbox up`, on a moto server and a Redis database of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import redis

from lightbox.services.processes import ManagedProcess, start_s3
from lightbox.testing.up import UpProcess, start_up

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "tests" / "apps" / "streams" / "template.yaml"
TABLE, STREAM = "streams-items", "streams-clicks"


class StreamsApp:
    up: UpProcess
    sqs: Any

    def __init__(self, cloud: ManagedProcess, redis_url: str, tmp: Path) -> None:
        self.cloud, self.redis_url, self.tmp = cloud, redis_url, tmp
        self.redis = redis.Redis.from_url(redis_url)
        kw: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        self.ddb = boto3.client("dynamodb", endpoint_url=cloud.url, **kw)
        self.kinesis = boto3.client("kinesis", endpoint_url=cloud.url, **kw)

    def records(self, key: str, n: int = 1, timeout: float = 30.0) -> list[Any]:
        """What the app's functions recorded under `key`, once there are at least `n` (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            items = [json.loads(x) for x in self.redis.lrange(f"streams:{key}", 0, -1)]
            if len(items) >= n or time.monotonic() > deadline:
                return items
            time.sleep(0.02)

    def start(self) -> None:
        self.up = start_up(self.tmp, ["-t", str(TEMPLATE), "-w", "2", "--redis-url", self.redis_url,
                                      "--s3-endpoint", self.cloud.url],
                           # The moto server these tests made the table and stream on serves every other
                           # service too (LIGHTBOX_CLOUD_ENDPOINT), where the emulator provisions resources.
                           env={"LIGHTBOX_RETRY_BASE_SECONDS": "0.05", "LIGHTBOX_CLOUD_ENDPOINT": self.cloud.url},
                           cwd=ROOT)
        self.sqs = boto3.client("sqs", endpoint_url=f"{self.up.url}/_lightbox/sqs", region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test")

    def queue_url(self, name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def status(self) -> str:
        out = subprocess.run([sys.executable, "-m", "lightbox", "status", "-t", str(TEMPLATE), "--redis-url",
                              self.redis_url], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        return out.stdout


def create_resources(endpoint: str) -> None:
    """The table and stream of the template, made on the moto server before `up` starts.
    Provisioning template resources is another change's (issue 17, resources); until it lands this
    stands in for it, and does nothing to a table or stream that exists."""
    kw: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **kw)
    kinesis = boto3.client("kinesis", endpoint_url=endpoint, **kw)
    if TABLE not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    if STREAM not in kinesis.list_streams()["StreamNames"]:
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)


def run_streams_app(tmp: Path, redis_server: ManagedProcess, db: int) -> Iterator[StreamsApp]:
    cloud = start_s3()
    url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    app = None
    try:
        create_resources(cloud.url)
        app = StreamsApp(cloud, url, tmp)
        app.start()
        yield app
    finally:
        if app is not None and hasattr(app, "up"):
            app.up.stop()
        cloud.stop()
        client.flushdb()
        client.close()
