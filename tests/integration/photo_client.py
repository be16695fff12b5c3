"""What a client and MinIO do to the photo app over HTTP, for the tests that run it as compose would."""

from __future__ import annotations

import copy
import functools
import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
import requests
from PIL import Image

from lightbox.template.loader import load_template
from photolib import auth as photo_auth

ROOT = Path(__file__).resolve().parents[2]
MINIO_EVENT = json.loads((ROOT / "events" / "minio-webhook.json").read_text())
PIPELINE_EVENTS = ["photo.uploaded", "photo.processing.started", "photo.stage.completed", "photo.stage.completed",
                   "photo.stage.completed", "photo.stage.completed", "photo.processing.completed"]


@functools.cache
def _secret() -> str:
    return load_template(ROOT / "template.yaml").function("UploadFunction").environment["TOKEN_SECRET"]


def auth(client: str = "alice") -> dict[str, str]:
    """The Authorization header of a client, as `python -m photolib.auth issue CLIENT` makes it for
    template.yaml's secret."""
    return {"Authorization": f"Bearer {photo_auth.issue(client, _secret())}"}


def jpeg(seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), ((seed * 37) % 256, 120, 200)).save(out, "JPEG", quality=80)
    return out.getvalue()


def create_upload(base: str, data: bytes, client: str = "alice") -> tuple[str, str]:
    """POST /uploads as a client does; returns (photo id, the object key to upload to)."""
    r = requests.post(f"{base}/uploads", json={"filename": "cat.jpg", "content_type": "image/jpeg",
                                               "size": len(data)}, headers=auth(client), timeout=30)
    assert r.status_code == 201, r.text
    body = r.json()
    return str(body["photo"]["id"]), str(body["upload"]["post"]["fields"]["key"])


def minio_body(bucket: str, objects: list[tuple[str, int, str]]) -> dict[str, Any]:
    """A MinIO webhook body (events/minio-webhook.json, a real one) naming these (key, size, etag)."""
    body = copy.deepcopy(MINIO_EVENT)
    template = body["Records"][0]
    body["Records"] = []
    for key, size, etag in objects:
        record = copy.deepcopy(template)
        record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
        # MinIO query-escapes the whole key in records, '/' included.
        record["s3"]["object"].update(key=quote(key, safe=""), size=size, eTag=etag)
        body["Records"].append(record)
    body["Key"] = f"{bucket}/{objects[0][0]}"
    return body


def post_webhook(base: str, body: dict[str, Any], token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(f"{base}/_lightbox/s3-events", json=body, headers=headers, timeout=30)


def wait_completed(base: str, photo_ids: list[str], timeout: float = 25.0, client: str = "alice") -> dict[str, str]:
    """GET /photos/{id} until every photo is completed (or failed, or time is up); returns the statuses."""
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    pending = list(photo_ids)
    with requests.Session() as http:
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                r = http.get(f"{base}/photos/{pid}", headers=auth(client), timeout=10)
                status[pid] = r.json()["photo"]["status"]
                if status[pid] in ("completed", "failed"):
                    pending.remove(pid)
            time.sleep(0.1)
    return status


def events_by_photo(conn: redis.Redis, stream: str = "lightbox:events") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _, fields in conn.xrange(stream):
        event = json.loads(fields[b"event"])
        out.setdefault(event["data"]["photo_id"], []).append(event["type"])
    return out


def stage_counts(conn: redis.Redis, stream: str = "lightbox:events") -> Counter[tuple[str, str]]:
    """How often each (photo, stage) completed, according to the events the stages published."""
    counts: Counter[tuple[str, str]] = Counter()
    for _, fields in conn.xrange(stream):
        event = json.loads(fields[b"event"])
        if event["type"] == "photo.stage.completed":
            counts[(event["data"]["photo_id"], event["data"]["stage"])] += 1
    return counts
