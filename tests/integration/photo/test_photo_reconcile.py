"""reconcile repairs lost events, uploads that never came, and blobs with no row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from photo_harness import CORPUS, PhotoEnv, sample_event

from photolib.models import utcnow
from photolib.pipeline import Deps, resume

DSCN = CORPUS / "exif" / "DSCN0010.jpg"
LATER = timedelta(hours=3)  # past every grace period and expiry at their defaults


def reconcile_at(env: PhotoEnv, delta: timedelta) -> dict[str, int]:
    return dict(env.fn("reconcile").reconcile(Deps.load(), utcnow() + delta))


def test_lost_bucket_event_is_redriven_and_the_photo_completes(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(DSCN)  # uploaded, but no bucket event is delivered
    assert reconcile_at(photo_env, timedelta(0)) == {}  # within the grace period the event may still come
    assert reconcile_at(photo_env, LATER) == {"redriven_queued": 1}
    photo_env.run_queues()
    assert photo_env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]
    assert reconcile_at(photo_env, LATER) == {}  # nothing left to do: a second run is a no-op


def test_upload_that_never_came_expires(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.create_upload("never.jpg", "image/jpeg", 100)["photo"]["id"]
    assert reconcile_at(photo_env, timedelta(minutes=5)) == {}
    assert reconcile_at(photo_env, LATER) == {"expired": 1}
    photo = photo_env.repo.get(photo_id)
    assert photo is not None and (photo.status, photo.stage) == ("failed", "upload")
    assert "POST /uploads" in (photo.failure_reason or "")
    assert photo_env.events()[-1]["type"] == "photo.processing.failed"


def test_blobs_with_no_row_are_deleted_after_the_grace_period(photo_env: PhotoEnv) -> None:
    orphan = "originals/alice/" + "e" * 32
    stray = "derivatives/alice/" + "d" * 32 + "/thumb_150.jpg"
    for key in (orphan, stray):
        photo_env.s3.put_object(Bucket=photo_env.bucket, Key=key, Body=b"x")
    event = sample_event("photo-s3-put.json")
    event["Records"][0]["s3"]["bucket"]["name"] = photo_env.bucket
    event["Records"][0]["s3"]["object"]["key"] = orphan
    photo_env.fn("ingest").handler(event, None)
    assert [o.key for o in photo_env.repo.orphans()] == [orphan]

    assert reconcile_at(photo_env, timedelta(0)) == {}
    assert reconcile_at(photo_env, LATER) == {"orphans_deleted": 1, "derivatives_deleted": 1}
    assert photo_env.blob_keys() == [] and photo_env.repo.orphans() == []


def test_handler_takes_the_schedule_event(photo_env: PhotoEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_GRACE_MINUTES", "0")
    photo_env.upload_via_post(DSCN)
    assert photo_env.fn("reconcile").handler(sample_event("photo-schedule.json"), None) == {"redriven_queued": 1}


def test_a_photo_waiting_behind_a_backlog_is_left_alone_and_resumed_once_its_message_is_lost(
        photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(DSCN)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)  # queued; validate message waits
    stuck = timedelta(minutes=Deps.load().settings.stuck_minutes + 1)
    # Its stage's queue is not empty, so its message may be there (a backlog longer than
    # STUCK_MINUTES): more runs than MAX_RESUMES neither resend it nor fail it.
    for _ in range(Deps.load().settings.max_resumes + 2):
        assert reconcile_at(photo_env, stuck) == {"waiting_queued": 1}
    (lost,) = photo_env.receive("validate")
    photo_env.sqs.delete_message(QueueUrl=photo_env.queues["validate"], ReceiptHandle=lost["receiptHandle"])
    assert reconcile_at(photo_env, stuck) == {"resumed_queued": 1}
    photo_env.run_queues()
    assert photo_env.repo.get(photo_id).status == "completed"  # type: ignore[union-attr]


def test_past_the_backlog_patience_a_stale_photo_is_resumed_though_its_queue_is_busy(photo_env: PhotoEnv) -> None:
    """Under steady traffic a stage's queue is never empty: a lost message must not wait for ever."""
    photo_id = photo_env.upload_via_post(DSCN)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    patience = Deps.load().settings.stuck_minutes * photo_env.fn("reconcile").BACKLOG_PATIENCE
    assert reconcile_at(photo_env, timedelta(minutes=patience - 1)) == {"waiting_queued": 1}
    assert reconcile_at(photo_env, timedelta(minutes=patience + 1)) == {"resumed_queued": 1}
    assert len(photo_env.receive("validate")) == 2  # the one it waited behind, and the one sent again


def test_resume_leaves_a_photo_that_moved_on_since_it_was_read(photo_env: PhotoEnv) -> None:
    photo_id = photo_env.upload_via_post(DSCN)
    photo_env.fn("ingest").handler(photo_env.bucket_event(photo_id), None)
    photo_env.deliver("validate", photo_env.receive("validate"))
    read = photo_env.repo.get(photo_id)  # what a reconcile run read: processing, at validate
    assert read is not None and (read.status, read.stage) == ("processing", "validate")
    photo_env.deliver("metadata", photo_env.receive("metadata"))  # then it moved on, still processing
    assert resume(Deps.load(), read) == "moved"
    assert photo_env.receive("validate") == []  # not sent back to validate
    assert photo_env.repo.get(photo_id).stage == "metadata"  # type: ignore[union-attr]
