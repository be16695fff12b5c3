from __future__ import annotations

import redis


def test_redis_server_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_s3_server_round_trip(s3_client) -> None:  # type: ignore[no-untyped-def]
    s3_client.create_bucket(Bucket="svc-check")
    s3_client.put_object(Bucket="svc-check", Key="a/b.txt", Body=b"hello")
    assert s3_client.get_object(Bucket="svc-check", Key="a/b.txt")["Body"].read() == b"hello"
