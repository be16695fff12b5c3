"""The emulator running the sample SAM app: every trigger kind, end to end, with real servers."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from datetime import UTC, datetime

import boto3
import pytest
import requests

from lightbox import config
from lightbox.sqs.queues import Broker
from lightbox.stack.up import Stack


def test_http_round_trip_with_path_params_query_and_cookies(sample_stack: Stack) -> None:
    resp = requests.get(f"{sample_stack.url}/hello/ada", params={"x": "1"}, timeout=5)
    assert resp.status_code == 200
    body = resp.json()
    assert body["message"] == "hello, ada"  # GREETING from the template's Parameters default
    assert body["query"] == {"x": "1"}
    assert 0 < body["remaining_ms"] <= 5000
    assert resp.cookies.get("seen") == "1"


def test_binary_body_goes_in_and_out_base64(sample_stack: Stack) -> None:
    payload = bytes(range(256)) * 4  # not UTF-8: the event must carry it base64-encoded
    resp = requests.post(f"{sample_stack.url}/echo", data=payload,
                         headers={"content-type": "application/octet-stream"}, timeout=5)
    assert resp.status_code == 201
    assert resp.content == payload[::-1]


def test_greedy_path_any_method_and_inferred_json(sample_stack: Stack) -> None:
    resp = requests.delete(f"{sample_stack.url}/files/a/b/c.txt", timeout=5)
    assert resp.json() == {"method": "DELETE", "proxy": "a/b/c.txt"}
    assert resp.headers["content-type"] == "application/json"


def test_unknown_route_and_wrong_method(sample_stack: Stack) -> None:
    # A path no API claims: the REST API's answer; a wrong method on an HTTP API's route: its 404.
    nope = requests.get(f"{sample_stack.url}/nope", timeout=5)
    assert (nope.status_code, nope.json()) == (403, {"message": "Missing Authentication Token"})
    assert nope.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    wrong = requests.put(f"{sample_stack.url}/echo", timeout=5)
    assert (wrong.status_code, wrong.json()) == (404, {"message": "Not Found"})


def test_iterator_body_is_streamed(sample_stack: Stack) -> None:
    with requests.get(f"{sample_stack.url}/stream", stream=True, timeout=5) as resp:
        assert resp.headers["content-type"] == "text/event-stream"
        lines = [line for line in resp.iter_lines(decode_unicode=True) if line]
    assert lines[:3] == ["data: 0", "data: 1", "data: 2"]
    env = sample_stack.runtime.environment(sample_stack.template.function('HttpFunction'))
    assert lines[3] == f"data: {env['GREETING']}"


def test_warm_module_state_is_kept_between_invocations(sample_stack: Stack) -> None:
    first = requests.get(f"{sample_stack.url}/hello/a", timeout=5).json()["calls"]
    second = requests.get(f"{sample_stack.url}/hello/b", timeout=5).json()["calls"]
    assert second == first + 1


def test_raise_and_timeout_fail_only_that_invocation(sample_stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="lightbox.invoke"):
        boom = requests.get(f"{sample_stack.url}/boom", timeout=5)
        slow = requests.get(f"{sample_stack.url}/slow", timeout=10)
    # Both are REST API routes: API Gateway's own bodies, with the error type clients match on.
    assert (boom.status_code, boom.json()) == (502, {"message": "Internal server error"})
    assert boom.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    # The function timed out on its own (Timeout 1 s, under API Gateway's 29 s): a function error to the gateway.
    assert (slow.status_code, slow.json()) == (502, {"message": "Internal server error"})
    logged = caplog.text
    assert "ValueError: boom: the handler raised on purpose" in logged  # the traceback is in the log
    assert "Task timed out after 1.00 seconds" in logged
    # ... and the emulator keeps serving.
    assert requests.get(f"{sample_stack.url}/hello/again", timeout=5).status_code == 200


def test_function_environment_is_its_own(sample_stack: Stack) -> None:
    before = dict(os.environ)
    body = requests.get(f"{sample_stack.url}/env", timeout=5).json()
    assert body == {"greeting": "hello", "function": "HttpFunction"}
    assert "GREETING" not in os.environ and dict(os.environ) == before


def test_presigned_put_fires_the_s3_function(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", endpoint_url=sample_stack.settings.s3_endpoint)
    for key in ("incoming/skip.bin", "elsewhere/skip.txt"):  # filtered out by suffix / prefix
        s3.put_object(Bucket="sample-uploads", Key=key, Body=b"x")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "sample-uploads", "Key": "incoming/my file+1.txt"})
    assert requests.put(url, data=b"hello world", timeout=5).status_code == 200
    events = recorded("s3", n=1, settle=1.0)
    assert events == [{"eventName": "ObjectCreated:Put", "bucket": "sample-uploads",
                       "key": "incoming/my+file%2B1.txt", "size": 11}]


def test_bucket_notifies_its_queue_which_invokes_the_queue_function(
        sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", endpoint_url=sample_stack.settings.s3_endpoint)
    s3.put_object(Bucket="sample-inbox", Key="skip.txt", Body=b"x")  # filtered out by suffix
    s3.put_object(Bucket="sample-inbox", Key="in/a b.json", Body=b"{}")
    events = recorded("inbox", n=1, settle=1.0)
    assert events == [{"source": "arn:aws:sqs:us-east-1:000000000000:sample-inbox-events",
                       "eventName": "ObjectCreated:Put", "bucket": "sample-inbox", "key": "in/a+b.json", "size": 2}]


def test_buckets_get_the_templates_cors_rules(sample_stack: Stack) -> None:
    s3 = boto3.client("s3", endpoint_url=sample_stack.settings.s3_endpoint)
    [rule] = s3.get_bucket_cors(Bucket="sample-uploads")["CORSRules"]
    assert rule["AllowedOrigins"] == ["http://app.example"] and rule["MaxAgeSeconds"] == 600
    # A browser's preflight before it POSTs a form straight to the bucket.
    preflight = requests.options(f"{sample_stack.settings.s3_endpoint}/sample-uploads", timeout=5, headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.example"


def test_bucket_events_leave_the_notification_queue_once_delivered(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    s3 = boto3.client("s3", endpoint_url=sample_stack.settings.s3_endpoint)
    for i in range(5):  # quickly, so one receive carries several records
        s3.put_object(Bucket="sample-uploads", Key=f"incoming/batch-{i}.txt", Body=b"x")
    assert sorted(e["key"] for e in recorded("s3", n=5)) == [f"incoming/batch-{i}.txt" for i in range(5)]
    sqs = boto3.client("sqs", endpoint_url=sample_stack.settings.s3_endpoint, region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=config.BUCKET_EVENTS_QUEUE)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + 10  # the poller deletes right after queueing the invokes
    while (left := sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]) != dict.fromkeys(
            names, "0") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == dict.fromkeys(names, "0")  # none would come back as a duplicate event


def test_queue_message_invokes_the_queue_function(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    resp = requests.post(f"{sample_stack.url}/send", json={"messages": ["hello-queue"]}, timeout=5)
    assert resp.json() == {"sent": 1}
    [got] = recorded("sqs", n=1)
    assert got["body"] == "hello-queue" and got["receive_count"] == 1
    assert got["source"] == "arn:aws:sqs:us-east-1:000000000000:sample-work"


def test_sqs_api_speaks_boto3(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    sqs = boto3.client("sqs", endpoint_url=sample_stack.settings.public_sqs_endpoint)
    url = sqs.get_queue_url(QueueName="sample-work")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="direct", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "test"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"direct").hexdigest()
    assert recorded("sqs", n=1)[0]["body"] == "direct"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="no-such-queue")


def test_failing_message_retries_to_max_receive_count_then_dlq_then_replay(
        sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    broker = Broker(sample_stack.template, sample_stack.connection)
    requests.post(f"{sample_stack.url}/send", json={"messages": ["ok-1", "fail-1", "ok-2"]}, timeout=5)
    deliveries = recorded("sqs", n=5, settle=1.5)
    # One batch of three, then only the reported failure again, up to maxReceiveCount=3.
    assert [(d["body"], d["receive_count"], d["batch"]) for d in deliveries] == [
        ("ok-1", 1, 3), ("fail-1", 1, 3), ("ok-2", 1, 3), ("fail-1", 2, 1), ("fail-1", 3, 1)]
    dead = broker.dead_letters("sample-work-dlq")
    assert [m["body"] for d in dead for m in d.messages] == ["fail-1"]
    assert "reported 1 of 1 message(s)" in dead[0].error
    assert broker.depth("sample-work")["dead"] == 1

    assert broker.replay("sample-work-dlq") == 1
    again = recorded("sqs", n=8)  # it still fails, so it goes round to the DLQ once more
    assert [(d["body"], d["receive_count"]) for d in again[5:]] == [("fail-1", 1), ("fail-1", 2), ("fail-1", 3)]
    deadline = time.monotonic() + 10
    while broker.depth("sample-work")["dead"] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.depth("sample-work")["dead"] == 1


def _alive(pid: int) -> bool:
    """Running (or stopped): a zombie has ended, and waits only for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_killed_worker_job_runs_again(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    requests.post(f"{sample_stack.url}/send", json={"messages": ["sleep:4"]}, timeout=5)
    [first] = recorded("sqs", n=1)
    # The handler runs in an execution environment process whose parent is the worker.
    [killed] = [w for w in sample_stack.workers if w.pid == first["ppid"]]
    killed.kill()  # mid-job: the handler is sleeping
    killed.wait()
    sample_stack.workers.remove(killed)
    sample_stack.add_worker()
    deliveries = recorded("sqs", n=2, timeout=60)
    assert [(d["body"], d["receive_count"]) for d in deliveries] == [("sleep:4", 1), ("sleep:4", 2)]
    assert deliveries[1]["ppid"] != first["ppid"]
    assert not _alive(first["pid"])  # the environment died with its worker


def test_schedule_fires_with_its_input(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    sample_stack.fire_schedule("CronFunction:Every", datetime.now(UTC))
    assert recorded("cron", n=1) == [{"source": "sample-schedule"}]


def test_minio_webhook_needs_the_token_and_delivers(sample_stack: Stack, recorded) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    body = json.loads((Path(__file__).resolve().parents[2] / "events" / "minio-webhook.json").read_text())
    body["Records"][0]["s3"]["bucket"]["name"] = "sample-uploads"
    body["Records"][0]["s3"]["object"]["key"] = "incoming%2Fvia+minio.txt"
    url = f"{sample_stack.url}/_lightbox/s3-events"
    assert requests.post(url, json=body, timeout=5).status_code == 401
    assert requests.post(url, json=body, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    ok = requests.post(url, json=body, headers={"Authorization": "Bearer sekrit"}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"delivered": 1}
    [got] = recorded("s3", n=1)
    assert got["key"] == "incoming/via+minio.txt" and got["eventName"] == "ObjectCreated:Put"


def test_queue_depths_report(sample_stack: Stack) -> None:
    broker = Broker(sample_stack.template, sample_stack.connection)
    depth = broker.depth("sample-work")
    assert set(depth) == {"waiting", "running", "retrying", "dead"}
    assert "sample-work" in broker.queue_names() and "sample-work-dlq" in broker.queue_names()
