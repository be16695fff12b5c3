"""The upload API against hostile input: presigned URLs, injection strings, arbitrary input
(hypothesis), per-client rate limits, and one client's photos out of another's reach
(each client named by its signed token)."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from photo_harness import CORPUS, TOKEN_SECRET, PhotoEnv, bearer, http_event

from photolib import auth
from photolib.models import utcnow
from photolib.pipeline import Deps

CANON = CORPUS / "exif" / "Canon_40D.jpg"
INJECTIONS = ["' OR '1'='1", "x'); DROP TABLE photos; --", '" OR 1=1 --', "1; DELETE FROM photos",
              "%' UNION SELECT * FROM photos --", "\\'; UPDATE photos SET client_id='eve' --"]


def call(env: PhotoEnv, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    r = env.fn("upload").handler(event, None)
    return r["statusCode"], r["headers"], (json.loads(r["body"]) if r["body"] else None)


def create(env: PhotoEnv, body: Any, client: str = "alice") -> tuple[int, dict[str, str], Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    return call(env, http_event("POST", "/uploads", "/uploads", body=raw, headers=bearer(client)))


# --- presigned URLs -----------------------------------------------------------------------------


def test_presigned_urls_expire_in_minutes_and_name_only_the_server_chosen_key(photo_env: PhotoEnv) -> None:
    status, _, out = create(photo_env, {"filename": "originals..evil name.jpg", "content_type": "image/jpeg",
                                        "size": 4321})
    assert status == 201
    key = f"originals/alice/{out['photo']['id']}"
    post = out["upload"]["post"]
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    conditions = policy["conditions"]
    assert post["fields"]["key"] == key and {"key": key} in conditions  # exact key: no starts-with
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    assert {"bucket": photo_env.bucket} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions and ["content-length-range", 4321, 4321] in conditions
    assert timedelta(0) < datetime.fromisoformat(policy["expiration"]) - datetime.now(UTC) <= timedelta(minutes=5)

    put = urlparse(out["upload"]["put"]["url"])
    assert put.path.endswith(f"/{key}") and parse_qs(put.query)["X-Amz-Expires"] == ["300"]
    assert "evil" not in out["upload"]["put"]["url"] and "evil" not in json.dumps(post)


def test_download_urls_expire_in_minutes(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(CANON)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    photo_env.run_queues()
    status, _, out = call(photo_env, http_event("GET", "/photos/{id}", f"/photos/{photo_id}",
                                                path_params={"id": photo_id}))
    assert status == 200 and out["photo"]["status"] == "completed"
    urls = [out["original"]["url"], *(d["url"] for d in out["derivatives"].values())]
    assert len(urls) == 6
    assert {parse_qs(urlparse(u).query)["X-Amz-Expires"][0] for u in urls} == {"300"}


# --- injection strings in every input ----------------------------------------------------------


def test_injection_strings_in_every_input_are_data_not_sql(photo_env: PhotoEnv) -> None:
    status, _, mine = create(photo_env, {"filename": "kept.jpg", "content_type": "image/jpeg", "size": 10})
    assert status == 201
    create(photo_env, {"filename": "bobs.jpg", "content_type": "image/jpeg", "size": 10}, client="bob")
    stored = []
    for text in INJECTIONS:
        # As a file name it is just a name: stored and returned verbatim.
        status, _, out = create(photo_env, {"filename": f"{text}.jpg", "content_type": "image/jpeg", "size": 10})
        if "/" in text or "\\" in text:
            assert status == 400
        else:
            assert status == 201 and out["photo"]["filename"] == f"{text}.jpg"
            stored.append(out["photo"]["id"])
        for body in ({"filename": "a.jpg", "content_type": text, "size": 10},
                     {"filename": "a.jpg", "content_type": "image/jpeg", "size": text}):
            assert create(photo_env, body)[0] == 400
        # A correctly signed token naming it as the client id is still refused.
        signed = URLSafeTimedSerializer(TOKEN_SECRET, salt=auth.SALT).dumps({"client_id": text})
        event = http_event("POST", "/uploads", "/uploads", headers={"authorization": f"Bearer {signed}"},
                           body=json.dumps({"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}))
        assert call(photo_env, event)[0] == 401
        for query in ({"status": text}, {"limit": text}, {"cursor": text}):
            assert call(photo_env, http_event("GET", "/photos", "/photos", query=query))[0] == 400
        for method in ("GET", "DELETE"):
            status, _, _ = call(photo_env, http_event(method, "/photos/{id}", "/photos/x", path_params={"id": text}))
            assert status == 404
        headers = {"x-session-id": text, "x-trace-id": text}
        event = http_event("POST", "/uploads", "/uploads", headers=headers,
                           body=json.dumps({"filename": "h.jpg", "content_type": "image/jpeg", "size": 10}))
        status, _, out = call(photo_env, event)
        assert status == 201 and photo_env.repo.get(out["photo"]["id"]).session_id == text  # type: ignore[union-attr]

    # Every table is there, bob's photo is still bob's and alice sees only her own.
    db = sqlite3.connect(photo_env.db_path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"photos", "derivatives", "stage_results", "orphans"} <= tables
    assert db.execute("SELECT client_id FROM photos WHERE filename = 'bobs.jpg'").fetchall() == [("bob",)]
    status, _, page = call(photo_env, http_event("GET", "/photos", "/photos", query={"limit": "1000"}))
    assert status == 200 and {p["client_id"] for p in page["items"]} == {"alice"}
    assert {mine["photo"]["id"], *stored} <= {p["id"] for p in page["items"]}


# --- arbitrary input ------------------------------------------------------------------------------

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filename=st.text(max_size=300) | json_values, content_type=st.sampled_from(["image/jpeg", "IMAGE/PNG; q=1",
       "image/svg+xml", ""]) | st.text(max_size=40), size=st.integers(-(2**70), 2**70) | json_values)
def test_any_upload_request_is_created_or_refused_with_a_400(photo_env: PhotoEnv, monkeypatch: pytest.MonkeyPatch,
                                                             filename: Any, content_type: Any, size: Any) -> None:
    monkeypatch.setenv("UPLOAD_RATE_LIMIT", "0")
    status, _, out = create(photo_env, {"filename": filename, "content_type": content_type, "size": size})
    assert status in (201, 400), out
    if status == 400:
        assert out["error"]["code"] and out["error"]["message"]
        return
    photo = out["photo"]
    assert photo_env.repo.get(photo["id"]).key == f"originals/alice/{photo['id']}"  # type: ignore[union-attr]
    assert out["upload"]["post"]["fields"]["key"] == f"originals/alice/{photo['id']}"
    assert "/" not in photo["filename"] and "\x00" not in photo["filename"] and photo["declared_size"] >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["status", "limit", "cursor", "other"]), st.text(max_size=60), max_size=4),
       token=st.one_of(st.none(), st.text(max_size=70)))
def test_any_listing_query_is_answered_or_refused_with_a_4xx(photo_env: PhotoEnv, query: dict[str, str],
                                                             token: str | None) -> None:
    # A real token, or any text where one should be (which can only be refused).
    headers = bearer("alice") if token is None else {"authorization": f"Bearer {token}"}
    status, _, out = call(photo_env, http_event("GET", "/photos", "/photos", query=query, headers=headers))
    if token is not None:
        assert status == 401 and out["error"]["code"] in {"missing_token", "invalid_token"}, out
        return
    assert status in (200, 400), out
    if status == 200:
        assert isinstance(out["items"], list) and len(out["items"]) <= 1000
    else:
        assert out["error"]["code"] in {"invalid_status", "invalid_limit", "invalid_cursor"}


# --- rate limit -------------------------------------------------------------------------------------


def test_upload_creation_is_rate_limited_per_client_with_retry_after(photo_env: PhotoEnv,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_RATE_LIMIT", "3")
    monkeypatch.setenv("UPLOAD_RATE_WINDOW_SECONDS", "60")
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}
    assert [create(photo_env, body)[0] for _ in range(3)] == [201, 201, 201]
    status, headers, out = create(photo_env, body)
    assert status == 429 and out["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["retry-after"]) <= 60
    # The multipart route counts against the same limit; another client has its own.
    status, _, _ = call(photo_env, http_event("POST", "/photos", "/photos", body=b"--x--",
                                              headers={"content-type": "multipart/form-data; boundary=x", **bearer()}))
    assert status == 429
    assert create(photo_env, body, client="bob")[0] == 201
    assert len(photo_env.repo.page("alice")[0]) == 3


# --- one client, another's photos -------------------------------------------------------------------


def test_a_client_cannot_read_list_or_delete_another_clients_photo(photo_env: PhotoEnv) -> None:
    photo_id = create(photo_env, {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10})[2]["photo"]["id"]
    as_bob = bearer("bob")
    for method in ("GET", "DELETE"):
        status, _, _ = call(photo_env, http_event(method, "/photos/{id}", f"/photos/{photo_id}",
                                                  path_params={"id": photo_id}, headers=as_bob))
        assert status == 404
    assert call(photo_env, http_event("GET", "/photos", "/photos", headers=as_bob))[2]["items"] == []
    assert photo_env.repo.get(photo_id) is not None


# --- reconcile resumes a photo whose stage message was lost ------------------------------------------


def test_photo_stuck_mid_pipeline_is_resumed_from_its_stage(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(CANON)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    for stage in ("validate", "metadata"):
        [record] = photo_env.receive(stage)
        photo_env.deliver(stage, [record])
    photo_env.receive("thumbnails")  # the thumbnails message is taken and never comes back
    photo_env.sqs.purge_queue(QueueUrl=photo_env.queues["thumbnails"])
    assert photo_env.repo.get(photo_id).status == "processing"  # type: ignore[union-attr]

    reconcile = photo_env.fn("reconcile").reconcile
    assert reconcile(Deps.load(), utcnow()) == {}  # not stuck yet: within STUCK_MINUTES
    assert reconcile(Deps.load(), utcnow() + timedelta(hours=1)) == {"resumed_processing": 1}
    ran = photo_env.run_queues()
    assert [stage for stage, _ in ran] == ["metadata", "thumbnails", "optimize"]  # from the last stage it began
    assert photo_env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]
    assert {d.kind for d in photo_env.repo.derivatives(photo_id)} == {"thumb_150", "thumb_300", "thumb_600",
                                                                     "web_jpeg", "web_webp"}


def test_a_photo_that_never_gets_past_a_stage_is_failed_after_max_resumes(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(CANON)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    [record] = photo_env.receive("validate")
    photo_env.deliver("validate", [record])
    stages = ("validate", "metadata", "thumbnails", "optimize")

    def dies() -> int:
        """The stage is killed on every receive, so its message ends in the DLQ: gone from its queue."""
        taken = [(s, r) for s in stages for r in photo_env.receive(s)]
        for stage, record in taken:
            photo_env.sqs.delete_message(QueueUrl=photo_env.queues[stage], ReceiptHandle=record["receiptHandle"])
        return len(taken)

    assert dies() == 1  # metadata's message
    reconcile = photo_env.fn("reconcile").reconcile
    later = utcnow()
    for _ in range(Deps.load().settings.max_resumes):
        later += timedelta(hours=1)
        assert reconcile(Deps.load(), later) == {"resumed_processing": 1}
        assert dies() == 1  # sent again, and dies again
    later += timedelta(hours=1)
    assert reconcile(Deps.load(), later) == {"failed_processing": 1}
    photo = photo_env.repo.get(photo_id)
    assert photo is not None and photo.status == "failed" and photo.stage in stages
    assert "stopped without finishing 4 times" in (photo.failure_reason or "")
    assert dies() == 0  # nothing more is sent
    assert reconcile(Deps.load(), later + timedelta(hours=1)) == {}
