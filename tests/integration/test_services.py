from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import redis

from lightbox.services.processes import start_redis, start_s3


def test_redis_server_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_s3_server_round_trip(s3_client) -> None:  # type: ignore[no-untyped-def]
    s3_client.create_bucket(Bucket="svc-check")
    s3_client.put_object(Bucket="svc-check", Key="a/b.txt", Body=b"hello")
    assert s3_client.get_object(Bucket="svc-check", Key="a/b.txt")["Body"].read() == b"hello"


def test_s3_server_serves_sqs_on_the_same_port_and_stops_on_sigterm() -> None:
    server = start_s3()
    try:
        assert server.proc.args[1:3] == ["-m", "lightbox.services.cloud"]
        sqs = boto3.client("sqs", endpoint_url=server.url, region_name="eu-west-1")
        url = sqs.create_queue(QueueName="svc-check")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["hello"]
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="eu-west-1")
        s3.create_bucket(Bucket="svc-check-2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["svc-check-2"]
    finally:
        server.proc.terminate()
        assert server.proc.wait(timeout=10) == 0


def test_redis_starts_in_a_relative_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lightbox up` gives `.lightbox/redis`, relative to where the user stands."""
    monkeypatch.chdir(tmp_path)
    server = start_redis(Path(".lightbox") / "redis")
    try:
        assert redis.Redis.from_url(server.url).ping()
        assert (tmp_path / ".lightbox" / "redis" / "redis.log").is_file()
    finally:
        server.stop()
