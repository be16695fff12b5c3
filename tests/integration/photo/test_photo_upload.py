"""upload and ingest against a real S3/SQS server and a real Redis. The API's routes are called
through the gateway on the lightbox plugin (photo_app); ingest's edge cases get hand-made bucket
events (photo_env)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from itsdangerous import URLSafeTimedSerializer
from photo_harness import CORPUS, TOKEN_SECRET, PhotoApp, PhotoEnv, http_event, sample_event

from photolib import auth

CANON = CORPUS / "exif" / "Canon_40D.jpg"


def call(env: PhotoEnv, event: dict[str, Any]) -> tuple[int, Any]:
    r = env.fn("upload").handler(event, None)
    return r["statusCode"], (json.loads(r["body"]) if r["body"] else None)


def test_presigned_post_then_bucket_event_queues_the_photo(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(CANON)
    assert photo_env.repo.get(photo_id).status == "pending_upload"  # type: ignore[union-attr]
    assert photo_env.blob_keys("originals/") == [f"originals/alice/{photo_id}"]

    out = photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    assert out["outcomes"] == {f"originals/alice/{photo_id}": "queued"}
    photo = photo_env.repo.get(photo_id)
    assert photo is not None and photo.status == "queued" and photo.size == CANON.stat().st_size
    [message] = photo_env.receive("validate")
    body = json.loads(message["body"])
    assert body["photo_id"] == photo_id and body["step"] == 0 and body["pipeline"][0] == "validate"
    assert [e["type"] for e in photo_env.events()] == ["photo.uploaded"]


def test_replayed_bucket_event_is_a_no_op(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(CANON)
    event = photo_env.bucket_event(photo_id)
    photo_env.fn("ingest").handler(event, None)
    again = photo_env.fn("ingest").handler(event, None)
    assert list(again["outcomes"].values()) == ["duplicate"]
    assert len(photo_env.receive("validate")) == 1
    assert len(photo_env.events()) == 1


def test_object_without_a_row_is_recorded_as_orphan_not_processed(photo_env: PhotoEnv) -> None:
    key = "originals/alice/" + "f" * 32
    photo_env.s3.put_object(Bucket=photo_env.bucket, Key=key, Body=b"x")
    event = photo_env.bucket_event("f" * 32)
    event["Records"][0]["s3"]["object"]["key"] = key
    assert photo_env.fn("ingest").handler(event, None)["outcomes"] == {key: "orphan"}
    assert [o.key for o in photo_env.repo.orphans()] == [key]
    assert photo_env.receive("validate") == [] and photo_env.events() == []


def test_url_encoded_keys_are_decoded(photo_env: PhotoEnv) -> None:
    key = "originals/alice/holiday photo.jpg"  # not a key we issue: an orphan, under its real name
    photo_env.s3.put_object(Bucket=photo_env.bucket, Key=key, Body=b"x")
    event = sample_event("photo-s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = photo_env.bucket
    event["Records"][0]["s3"]["object"]["key"] = "originals/alice/holiday+photo.jpg"
    assert photo_env.fn("ingest").handler(event, None)["outcomes"] == {key: "orphan"}


def test_object_that_does_not_match_its_row_fails_with_a_reason(photo_env: PhotoEnv) -> None:
    created = photo_env.create_upload("a.jpg", "image/jpeg", 1000)
    photo_id = created["photo"]["id"]
    # A presigned PUT does not pin the length, so a client can send other bytes than it declared.
    put = created["upload"]["put"]
    r = requests.put(put["url"], data=b"short", headers=put["headers"], timeout=10)
    assert r.status_code == 200, r.text
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    photo = photo_env.repo.get(photo_id)
    assert photo is not None and photo.status == "failed" and photo.stage == "ingest"
    assert photo.failure_reason == "uploaded 5 bytes but 1000 were declared; upload the declared file"
    assert [e["type"] for e in photo_env.events()] == ["photo.processing.failed"]
    assert photo_env.receive("validate") == []


@pytest.mark.parametrize(("body", "code"), [
    ({"filename": "../x.jpg", "content_type": "image/jpeg", "size": 10}, "invalid_filename"),
    ({"filename": "x.pdf", "content_type": "application/pdf", "size": 10}, "unsupported_content_type"),
    ({"filename": "x.jpg", "content_type": "image/jpeg", "size": 0}, "invalid_size"),
    ({"filename": "x.jpg", "content_type": "image/jpeg", "size": 10**12}, "invalid_size"),
    ({"filename": "x.jpg", "content_type": "image/jpeg"}, "invalid_size"),
    ("not json", "invalid_json"),
])
def test_bad_upload_requests_get_a_clear_400(photo_app: PhotoApp, body: Any, code: str) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    status, out = photo_app.api("POST", "/uploads", data=raw, headers={"content-type": "application/json"})
    assert status == 400
    assert out["error"]["code"] == code and out["error"]["message"]
    assert photo_app.repo.page("alice")[0] == []


def test_multipart_upload_writes_blob_and_row(photo_app: PhotoApp) -> None:
    data = CANON.read_bytes()
    files = {"file": ("Canon 40D.jpg", data, "image/jpeg")}
    prepared = requests.Request("POST", "http://x/photos", files=files).prepare()
    assert isinstance(prepared.body, bytes)
    # run=False: stop at what the request itself did; the bucket event it caused waits on its queue.
    status, out = photo_app.api("POST", "/photos", data=prepared.body,
                                headers={"content-type": prepared.headers["Content-Type"]}, run=False)
    assert status == 201, out
    photo_id = out["photo"]["id"]
    assert out["photo"]["filename"] == "Canon 40D.jpg" and out["photo"]["declared_size"] == len(data)
    stored = photo_app.lightbox.s3.client.get_object(Bucket=photo_app.bucket, Key=f"originals/alice/{photo_id}")
    assert stored["Body"].read() == data and stored["ContentType"] == "image/jpeg"
    assert photo_app.repo.get(photo_id).status == "pending_upload"  # type: ignore[union-attr]
    photo_app.lightbox.drain()
    assert [c.function for c in photo_app.lightbox.invocations][:2] == ["UploadFunction", "IngestFunction"]
    assert photo_app.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]


def test_list_get_and_delete_are_scoped_to_the_client(photo_app: PhotoApp) -> None:
    app = photo_app
    ids = [app.create_upload(f"{i}.jpg", "image/png", 10)["photo"]["id"] for i in range(3)]
    app.create_upload("bob.jpg", "image/png", 10, client="bob")

    status, page = app.api("GET", "/photos", query={"limit": "2"})
    assert status == 200 and [p["id"] for p in page["items"]] == ids[::-1][:2]
    status, rest = app.api("GET", "/photos", query={"cursor": page["next_cursor"]})
    assert [p["id"] for p in rest["items"]] == ids[:1] and rest["next_cursor"] is None
    status, none = app.api("GET", "/photos", query={"status": "completed"})
    assert none["items"] == []
    status, err = app.api("GET", "/photos", query={"status": "nope"})
    assert status == 400 and "pending_upload" in err["error"]["message"]

    status, one = app.api("GET", f"/photos/{ids[0]}")
    assert status == 200 and one["photo"]["status"] == "pending_upload" and one["derivatives"] == {}
    status, _ = app.api("GET", f"/photos/{ids[0]}", client="bob")
    assert status == 404

    status, _ = app.api("DELETE", f"/photos/{ids[0]}")
    assert status == 204
    assert app.repo.get(ids[0]) is None
    assert [e["type"] for e in app.events()] == ["photo.deleted"]


def test_catch_all_route_matches_raw_path(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.create_upload("a.png", "image/png", 10)["photo"]["id"]
    event = http_event("GET", "/photos/{id}", f"/photos/{photo_id}")
    event["routeKey"] = "$default"
    status, out = call(photo_env, event)
    assert status == 200 and out["photo"]["id"] == photo_id
    event = http_event("GET", "/nothing", "/nothing")
    event["routeKey"] = "$default"
    status, out = call(photo_env, event)
    assert status == 404 and "POST /uploads" in out["error"]["message"]


def test_presigned_post_policy_pins_key_type_and_length(photo_app: PhotoApp) -> None:
    # moto accepts any POST form, so the policy S3/MinIO enforce is checked here by reading it.
    created = photo_app.create_upload("a.jpg", "image/jpeg", 1234)
    fields = created["upload"]["post"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    key = f"originals/alice/{created['photo']['id']}"
    assert fields["key"] == key and fields["Content-Type"] == "image/jpeg"
    assert {"key": key} in policy["conditions"] and {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1234, 1234] in policy["conditions"]
    expires = datetime.fromisoformat(policy["expiration"])
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 300
    assert created["upload"]["expires_in"] == 300


def test_a_signed_token_naming_a_client_id_that_could_not_be_a_key_part_is_refused(photo_env: PhotoEnv) -> None:
    body = json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10})
    forged = URLSafeTimedSerializer(TOKEN_SECRET, salt=auth.SALT).dumps({"client_id": "../bob"})
    status, out = call(photo_env, http_event("POST", "/uploads", "/uploads", body=body,
                                             headers={"authorization": f"Bearer {forged}"}))
    assert status == 401 and out["error"]["code"] == "invalid_token"
    assert photo_env.blob_keys() == [] and photo_env.events() == []
