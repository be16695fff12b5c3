"""Faults injected into the photo app running as separate processes (api under gunicorn,
`lightbox worker` processes, redis-server with AOF, an S3 server behind a proxy that can fail,
one SQLite file): every photo still ends completed, or failed with a reason; none is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from photo_stack import PhotoStack
from reliability_scenarios import (
    events_duplicated_and_lost,
    redis_restarted,
    s3_down,
    s3_down_past_every_retry,
    sqlite_locked,
    stage_fault,
    stage_fault_env,
    worker_killed_mid_stage,
)

from lightbox.services.processes import ManagedProcess


@pytest.fixture
def stack(s3_server: ManagedProcess, tmp_path: Path) -> Iterator[PhotoStack]:
    stack = PhotoStack.start(tmp_path, s3_server.url)
    yield stack
    stack.stop()


def test_worker_killed_in_each_stage_the_photos_complete_once(stack: PhotoStack) -> None:
    outcome, killed = worker_killed_mid_stage(stack, photos=4)
    assert killed == {"ValidateQueue", "MetadataQueue", "ThumbnailsQueue", "OptimizeQueue"}
    # judge() counts a photo completed only with its 5 derivative rows, 5 blobs and 4 stage results.
    assert (outcome.completed, outcome.failed, outcome.lost) == (4, 0, 0), outcome.detail
    assert stack.blobs("originals/") and len(stack.blobs("derivatives/")) == 4 * 5
    assert stack.dead_letter_photos() == set() and stack.wait_settled() == {}


def test_redis_restart_with_jobs_queued_loses_none(stack: PhotoStack) -> None:
    outcome = redis_restarted(stack, photos=10)
    assert "0 jobs queued" not in outcome.notes  # the restart did happen with work waiting
    assert (outcome.completed, outcome.failed, outcome.lost) == (10, 0, 0), outcome.detail
    assert all(w.poll() is None for w in stack.workers) and stack.api.poll() is None  # reconnected, not restarted


def test_s3_down_for_five_seconds_stages_retry_and_complete(stack: PhotoStack) -> None:
    outcome = s3_down(stack, photos=8, seconds=5)
    assert not outcome.notes.startswith("0 photos")  # the outage did meet work in progress
    assert (outcome.completed, outcome.failed, outcome.lost) == (8, 0, 0), outcome.detail
    assert stack.dead_letter_photos() == set()


def test_duplicate_and_missing_bucket_events_and_a_lost_message_are_repaired_by_one_reconcile(
        stack: PhotoStack) -> None:
    outcome, repaired = events_duplicated_and_lost(stack, photos=6)
    assert repaired == {"redriven_queued": 1, "resumed_queued": 1}
    assert (outcome.completed, outcome.failed, outcome.lost) == (6, 0, 0), outcome.detail
    assert len(stack.blobs("derivatives/")) == 6 * 5  # the twice-delivered events made nothing twice


def test_sqlite_locked_by_another_writer_stages_wait_and_clients_see_no_error(stack: PhotoStack) -> None:
    outcome, statuses = sqlite_locked(stack, photos=6, seconds=3)
    assert statuses == [201, 201, 201]
    assert (outcome.completed, outcome.failed, outcome.lost) == (6, 0, 0), outcome.detail


def test_s3_down_past_every_retry_fails_the_photos_in_flight_and_only_they_are_dead_letters(
        s3_server: ManagedProcess, tmp_path: Path) -> None:
    # One receive per message and a short retry budget, so "past every retry" takes seconds.
    stack = PhotoStack.start(tmp_path, s3_server.url, parameters="MaxReceiveCount=1", env={"RETRY_SECONDS": "1"})
    try:
        outcome, facts = s3_down_past_every_retry(stack, photos=10, seconds=4)
    finally:
        stack.stop()
    assert outcome.lost == 0 and outcome.failed >= 1 and outcome.completed + outcome.failed == 10, outcome.detail
    assert facts["dlq"] == facts["transient_failures"]
    assert all("stayed unavailable" in told for told in outcome.detail.values())  # no endpoint URLs, no traceback


@pytest.mark.parametrize("fault", ["crash", "loop"])
def test_a_stage_that_crashes_or_loops_fails_that_receive_and_the_photo_completes(
        s3_server: ManagedProcess, tmp_path: Path, fault: str) -> None:
    stack = PhotoStack.start(tmp_path, s3_server.url, env=stage_fault_env(fault))
    try:
        outcome = stage_fault(stack, fault, photos=2)
        assert all(w.poll() is None for w in stack.workers)  # the workers themselves never went down
        logs = "".join(p.read_text() for p in tmp_path.glob("worker*.log"))
    finally:
        stack.stop()
    assert (outcome.completed, outcome.failed, outcome.lost) == (2, 0, 0), outcome.detail
    told = "Runtime exited with error: exit status 3" if fault == "crash" else "Task timed out after 30.00 seconds"
    assert logs.count(told) >= 2  # once per photo, then it was received again
