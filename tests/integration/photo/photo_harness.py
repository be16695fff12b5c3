"""Helpers the photo integration tests share: sample events, the client side of an upload, and
either the template's real triggers (PhotoApp, on the `lightbox` pytest plugin) or, for tests
that step stage by stage, what the bucket and the queues would do (PhotoEnv: deliver events,
pump messages between stages)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

import redis
import requests

from lightbox.testing import Lightbox
from photolib import auth
from photolib.config import DEFAULT_PIPELINE
from photolib.db import PhotoRepository, connect

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "corpus"
EVENTS = ROOT / "events"
TOKEN_SECRET = "photo-tests-token-secret"  # photo_env puts it in TOKEN_SECRET


def post_upload(created: dict[str, Any], path: Path, content_type: str) -> str:
    """A browser's part of an upload: the file to storage with the presigned POST `created` holds
    (POST /uploads' answer); returns the photo id."""
    form = created["upload"]["post"]
    r = requests.post(form["url"], data=form["fields"], files={"file": (path.name, path.read_bytes(), content_type)},
                      timeout=30)
    assert r.status_code in (200, 201, 204), r.text
    return str(created["photo"]["id"])


def bearer(client: str = "alice") -> dict[str, str]:
    """The Authorization header of a client, signed as the functions under test verify it."""
    return {"authorization": f"Bearer {auth.issue(client, TOKEN_SECRET)}"}


def sample_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def http_event(method: str, route: str, path: str, *, body: bytes | str | None = None,
               headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
               path_params: dict[str, str] | None = None) -> dict[str, Any]:
    event = sample_event("photo-http-create-upload.json")
    event["routeKey"] = f"{method} {route}"
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"] = {**bearer("alice"), **{k.lower(): v for k, v in (headers or {}).items()}}
    event["queryStringParameters"] = query or None
    event["pathParameters"] = path_params or None
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = body, False
    return event


@dataclass
class PhotoApp:
    """The photo app as template.yaml wires it, on the plugin: HTTP through the gateway, uploads
    straight to the bucket, and every trigger they set off run before the call returns."""

    lightbox: Lightbox
    db_path: Path
    bucket: str = "lightbox-photos"  # template.yaml's PhotosBucketName
    stream: str = "lightbox:events"  # ... and its EVENTS_STREAM

    @cached_property
    def repo(self) -> PhotoRepository:
        return PhotoRepository(connect(self.db_path))

    def api(self, method: str, path: str, client: str = "alice", headers: dict[str, str] | None = None,
            **kwargs: Any) -> tuple[int, Any]:
        r = self.lightbox.http(method, path, headers={**bearer(client), **(headers or {})}, **kwargs)
        return r.status_code, r.get_json(silent=True)

    def create_upload(self, filename: str, content_type: str, size: int, client: str = "alice") -> dict[str, Any]:
        status, body = self.api("POST", "/uploads", client,
                                json={"filename": filename, "content_type": content_type, "size": size})
        assert status == 201, body
        return dict(body)

    def upload_via_post(self, path: Path, content_type: str = "image/jpeg", client: str = "alice") -> str:
        """A browser's upload with the presigned POST; the bucket event it causes runs the pipeline."""
        photo_id = post_upload(self.create_upload(path.name, content_type, path.stat().st_size, client), path,
                               content_type)
        self.lightbox.drain()
        return photo_id

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(fields[b"event"]) for _, fields in self.lightbox.redis.xrange(self.stream)]

    def blob_keys(self, prefix: str = "") -> list[str]:
        return self.lightbox.s3.keys(self.bucket, prefix)

    def blob(self, key: str) -> bytes:
        return self.lightbox.s3.get(self.bucket, key)


@dataclass
class PhotoEnv:
    bucket: str
    queues: dict[str, str]
    s3: Any
    sqs: Any
    redis: redis.Redis
    stream: str
    db_path: Path
    load: Callable[[str], ModuleType]

    @cached_property
    def repo(self) -> PhotoRepository:
        return PhotoRepository(connect(self.db_path))

    def fn(self, name: str) -> ModuleType:
        return self.load(name)

    # --- the client side

    def create_upload(self, filename: str, content_type: str, size: int, client: str = "alice") -> dict[str, Any]:
        body = json.dumps({"filename": filename, "content_type": content_type, "size": size})
        r = self.fn("upload").handler(
            http_event("POST", "/uploads", "/uploads", body=body, headers=bearer(client)), None)
        assert r["statusCode"] == 201, r
        return dict(json.loads(r["body"]))

    def upload_via_post(self, path: Path, content_type: str = "image/jpeg", client: str = "alice") -> str:
        return post_upload(self.create_upload(path.name, content_type, path.stat().st_size, client), path, content_type)

    # --- what the bucket and the queues would do

    def bucket_event(self, photo_id: str, client: str = "alice") -> dict[str, Any]:
        key = f"originals/{client}/{photo_id}"
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        event = sample_event("photo-s3-put.json")
        record = event["Records"][0]
        record["s3"]["bucket"]["name"] = self.bucket
        record["s3"]["object"].update(key=key, size=head["ContentLength"], eTag=head["ETag"].strip('"'))
        return event

    def receive(self, stage: str) -> list[dict[str, Any]]:
        """Messages waiting on a stage's queue, as the SQS records Lambda would be given."""
        r = self.sqs.receive_message(QueueUrl=self.queues[stage], MaxNumberOfMessages=10,
                                     AttributeNames=["All"], WaitTimeSeconds=0)
        return [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": m.get("Attributes", {}), "eventSource": "aws:sqs",
             "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{stage}"}
            for m in r.get("Messages", [])
        ]

    def deliver(self, stage: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Invoke the stage with one batch and delete what succeeded, as the event source mapping does."""
        result: dict[str, Any] = self.fn(stage).handler({"Records": records}, None)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        for rec in records:
            if rec["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queues[stage], ReceiptHandle=rec["receiptHandle"])
        return result

    def run_queues(self, max_rounds: int = 20) -> list[tuple[str, dict[str, Any]]]:
        """Pump every stage queue until all are empty; returns (stage, message body) in order run."""
        ran: list[tuple[str, dict[str, Any]]] = []
        for _ in range(max_rounds):
            moved = False
            for stage in DEFAULT_PIPELINE:
                for rec in self.receive(stage):
                    ran.append((stage, json.loads(rec["body"])))
                    self.deliver(stage, [copy.deepcopy(rec)])
                    moved = True
            if not moved:
                return ran
        raise AssertionError("queues did not drain")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(fields[b"event"]) for _, fields in self.redis.xrange(self.stream)]

    def blob_keys(self, prefix: str = "") -> list[str]:
        r = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in r.get("Contents", []))
