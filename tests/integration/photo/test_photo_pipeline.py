"""The whole pipeline on a real S3/SQS server and a real Redis: presigned POST -> bucket event ->
ingest -> validate -> metadata -> thumbnails -> optimize. End-to-end outcomes run template.yaml on
the lightbox plugin (photo_app); replays, races and retries step one handler call at a time (photo_env)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
from photo_harness import CORPUS, PhotoApp, PhotoEnv, http_event
from PIL import Image

from photolib.config import DEFAULT_PIPELINE

DSCN = CORPUS / "exif" / "DSCN0010.jpg"  # 640x480 with GPS
INVALID = sorted((CORPUS / "invalid").iterdir())


def upload_and_ingest(env: PhotoEnv, path: Any = DSCN, content_type: str = "image/jpeg") -> str:
    photo_id = env.upload_via_post(path, content_type)
    env.fn("ingest").handler(env.bucket_event(photo_id), None)
    return photo_id


def snapshot(env: PhotoEnv) -> dict[str, Any]:
    """Everything a replay could add to: rows per table, blob keys, events on the stream."""
    conn = env.repo.conn
    rows = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("photos", "derivatives", "stage_results", "orphans")}
    return {"rows": rows, "blobs": env.blob_keys(), "events": len(env.events())}


def test_corpus_photo_goes_from_pending_upload_to_completed(photo_app: PhotoApp) -> None:
    app = photo_app
    created = app.create_upload(DSCN.name, "image/jpeg", DSCN.stat().st_size)
    photo_id = created["photo"]["id"]
    assert app.repo.get(photo_id).status == "pending_upload"  # type: ignore[union-attr]
    form = created["upload"]["post"]
    r = requests.post(form["url"], data=form["fields"], files={"file": (DSCN.name, DSCN.read_bytes(), "image/jpeg")},
                      timeout=30)
    assert r.status_code in (200, 201, 204), r.text
    app.lightbox.drain()  # the bucket's notification, then each stage's queue, as template.yaml wires them
    assert [c.function for c in app.lightbox.invocations] == [
        "UploadFunction", "IngestFunction", "ValidateFunction", "MetadataFunction", "ThumbnailsFunction",
        "OptimizeFunction"]
    assert app.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]

    # Derivatives: in S3 with the sizes the rows claim, fit inside the box, never enlarged.
    derivatives = {d.kind: d for d in app.repo.derivatives(photo_id)}
    assert sorted(derivatives) == ["thumb_150", "thumb_300", "thumb_600", "web_jpeg", "web_webp"]
    for kind, box in (("thumb_150", 150), ("thumb_300", 300), ("thumb_600", 600), ("web_jpeg", 2048)):
        image = Image.open(io.BytesIO(app.blob(derivatives[kind].key)))
        assert image.size == (derivatives[kind].width, derivatives[kind].height)
        assert max(image.size) == min(box, 640)
        assert not image.getexif(), f"{kind} still carries EXIF"
    webp = Image.open(io.BytesIO(app.blob(derivatives["web_webp"].key)))
    assert webp.format == "WEBP" and webp.size == (640, 480)

    # Metadata in the DB, through the API with presigned URLs that work.
    status, body = app.api("GET", f"/photos/{photo_id}")
    assert status == 200
    assert body["photo"]["status"] == "completed" and body["photo"]["placeholder"]
    assert (body["photo"]["width"], body["photo"]["height"], body["photo"]["format"]) == (640, 480, "JPEG")
    meta = body["metadata"]
    assert meta["camera_make"] == "NIKON" and meta["gps_latitude"] == pytest.approx(43.467, abs=0.01)
    assert body["stages"] == sorted(DEFAULT_PIPELINE)
    got = requests.get(body["derivatives"]["thumb_150"]["url"], timeout=10)
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (150, 112)

    # Events, in order, each naming the photo, the client and the one trace id.
    events = app.events()
    assert [(e["type"], e["data"].get("stage")) for e in events] == [
        ("photo.uploaded", None), ("photo.processing.started", "validate"),
        *[("photo.stage.completed", s) for s in DEFAULT_PIPELINE], ("photo.processing.completed", None),
    ]
    assert {e["data"]["photo_id"] for e in events} == {photo_id}
    assert {(e["metadata"]["client_id"], e["metadata"]["trace_id"]) for e in events} == {
        ("alice", app.repo.get(photo_id).trace_id)  # type: ignore[union-attr]
    }
    assert all(app.lightbox.sqs.depth(q)["waiting"] == 0 for q in app.lightbox.template.queues)


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_odd_corpus_files_end_completed_or_failed_never_stuck(photo_app: PhotoApp, path: Any) -> None:
    # invalid/ holds JPEGs with malformed EXIF or damaged data that a careful decoder can still
    # show; the contract is a result or a clear failure, never a crash or a stuck photo.
    app = photo_app
    photo_id = app.upload_via_post(path)
    photo = app.repo.get(photo_id)
    assert photo is not None and photo.status in ("completed", "failed"), photo
    if photo.status == "failed":
        assert photo.stage and photo.failure_reason
        assert app.repo.derivatives(photo_id) == []
    else:
        assert len(app.repo.derivatives(photo_id)) == 5
    assert all(inv.ok for inv in app.lightbox.invocations)  # a failed photo is an outcome, not a crash
    assert all(app.lightbox.sqs.depth(q) == {"waiting": 0, "running": 0, "retrying": 0, "dead": 0}
               for q in app.lightbox.template.queues)


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("half.jpg", lambda: DSCN.read_bytes()[: DSCN.stat().st_size // 2],
     "truncated JPEG: the file ends before the image data does"),
    ("notes.jpg", lambda: b"hello, this is not an image", "not an image: "),
    pytest.param("huge.jpg", DSCN.read_bytes, "image is 640x480 = ", id="huge.jpg",
                 marks=pytest.mark.lightbox_template(parameters={"MaxPixels": "100000"})),
])
def test_invalid_photo_fails_at_validate_with_a_readable_reason_and_is_not_retried(
    photo_app: PhotoApp, tmp_path: Any, name: str, make: Any, reason: str,
) -> None:
    app = photo_app
    path = tmp_path / name
    path.write_bytes(make())
    photo_id = app.upload_via_post(path)
    photo = app.repo.get(photo_id)
    assert photo is not None and photo.status == "failed" and photo.stage == "validate"
    assert photo.failure_reason and photo.failure_reason.startswith(reason), photo.failure_reason
    assert app.repo.derivatives(photo_id) == [] and app.blob_keys("derivatives/") == []
    last = app.events()[-1]
    assert last["type"] == "photo.processing.failed"
    assert last["data"] == {"photo_id": photo_id, "stage": "validate", "reason": photo.failure_reason}
    assert len(app.lightbox.calls("ValidateFunction")) == 1  # consumed once, not retried
    assert app.lightbox.dlq("ValidateDlq") == []


def test_replayed_bucket_event_and_stage_messages_add_nothing(photo_env: PhotoEnv) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    [validate_msg] = env.receive("validate")
    env.fn("validate").handler({"Records": [validate_msg]}, None)  # at-least-once: delivered twice
    env.deliver("validate", [validate_msg])
    metadata_msgs = env.receive("metadata")
    assert len(metadata_msgs) == 2  # both deliveries forwarded; both runs overwrite the same rows
    env.deliver("metadata", metadata_msgs)
    env.run_queues()
    assert env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]
    before = snapshot(env)
    assert before["rows"] == {"photos": 1, "derivatives": 5, "stage_results": 4, "orphans": 0}

    env.fn("ingest").handler(env.bucket_event(photo_id), None)
    thumbnails_msg = {**metadata_msgs[0], "body": json.dumps({**json.loads(metadata_msgs[0]["body"]), "step": 2})}
    env.fn("thumbnails").handler({"Records": [thumbnails_msg]}, None)
    env.run_queues()
    assert snapshot(env) == before


def test_photo_deleted_mid_pipeline_leaves_nothing_behind(photo_env: PhotoEnv) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    for stage in ("validate", "metadata", "thumbnails"):
        env.deliver(stage, env.receive(stage))
    assert env.blob_keys("derivatives/")  # thumbnails exist now
    event = http_event("DELETE", "/photos/{id}", f"/photos/{photo_id}", path_params={"id": photo_id})
    r = env.fn("upload").handler(event, None)
    assert r["statusCode"] == 204
    env.run_queues()  # optimize finds no row: drops the message, writes nothing
    assert env.blob_keys() == []
    assert snapshot(env)["rows"] == {"photos": 0, "derivatives": 0, "stage_results": 0, "orphans": 0}


def test_photo_deleted_while_a_stage_is_writing_removes_that_stages_blobs(
    photo_env: PhotoEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    for stage in ("validate", "metadata"):
        env.deliver(stage, env.receive(stage))
    thumbnails = env.fn("thumbnails")
    real = thumbnails.thumbnails

    def delete_during_work(deps: Any, photo: Any, data: bytes) -> Any:
        out = real(deps, photo, data)  # the work is done; the DELETE lands before it is recorded
        env.fn("upload").handler(http_event("DELETE", "/photos/{id}", f"/photos/{photo_id}",
                                            path_params={"id": photo_id}), None)
        return out

    monkeypatch.setattr(thumbnails, "thumbnails", delete_during_work)
    env.deliver("thumbnails", env.receive("thumbnails"))
    assert env.blob_keys() == []
    assert env.receive("optimize") == []


def test_transient_failure_is_reported_for_retry_then_succeeds(photo_env: PhotoEnv,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    [message] = env.receive("validate")
    with monkeypatch.context() as m:
        m.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens on the discard port
        m.setenv("RETRY_SECONDS", "0.3")  # the call's own retries give up quickly; the queue's retry follows
        out = env.fn("validate").handler({"Records": [message]}, None)
    assert out == {"batchItemFailures": [{"itemIdentifier": message["messageId"]}]}
    assert env.repo.get(photo_id).status == "processing"  # type: ignore[union-attr]
    env.deliver("validate", [message])  # the queue's retry
    env.run_queues()
    assert env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]


def test_last_attempt_of_a_failing_message_fails_the_photo(photo_env: PhotoEnv,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    [message] = env.receive("validate")
    message["attributes"]["ApproximateReceiveCount"] = "3"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("RETRY_SECONDS", "0.3")
    out = env.fn("validate").handler({"Records": [message]}, None)
    assert out["batchItemFailures"]  # still reported: the queue moves it to the DLQ
    photo = env.repo.get(photo_id)
    assert photo is not None and photo.status == "failed" and photo.stage == "validate"
    assert photo.failure_reason == ("validate failed 3 times: a service it needs (storage, queue or database) "
                                    "stayed unavailable; upload the photo again later")


def test_original_gone_from_storage_fails_the_photo_at_once(photo_env: PhotoEnv) -> None:
    env = photo_env
    photo_id = upload_and_ingest(env)
    env.s3.delete_object(Bucket=env.bucket, Key=f"originals/alice/{photo_id}")
    [message] = env.receive("validate")
    assert env.deliver("validate", [message]) == {"batchItemFailures": []}
    photo = env.repo.get(photo_id)
    assert photo is not None and photo.status == "failed"
    assert photo.failure_reason == "the uploaded file is no longer in storage; upload the photo again"
