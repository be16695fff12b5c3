"""Bad input and load on the photo app as separate processes: every input ends in a clear 4xx or
a photo that is completed or failed with a readable reason, and the workers keep serving."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_inputs import bad_inputs, try_bad_inputs
from photo_client import minio_body, post_webhook
from photo_stack import PhotoStack
from reliability_scenarios import Outcome, judge, load_with_kills, photo

from lightbox.services.processes import ManagedProcess


@pytest.fixture
def stack(s3_server: ManagedProcess, tmp_path: Path) -> Iterator[PhotoStack]:
    stack = PhotoStack.start(tmp_path, s3_server.url, workers=3)
    yield stack
    stack.stop()


def test_every_bad_input_is_refused_or_fails_with_a_reason_and_workers_keep_serving(stack: PhotoStack) -> None:
    inputs = bad_inputs()
    outcome, result = try_bad_inputs(stack, inputs)
    assert {bad.name: result[bad.name] for bad in inputs if result[bad.name] not in bad.expect} == {}, outcome.detail
    assert outcome.lost == 0
    for bad in inputs:  # what a person is told: words about their file, never a traceback
        told = outcome.detail[bad.name]
        if told == "completed":
            continue
        assert len(told) > 15 and "Traceback" not in told and "Error(" not in told, (bad.name, told)
    assert "PNG" in outcome.detail["PNG bytes named .jpg, sent as image/jpeg"]
    assert "100 MP limit" in outcome.detail["PNG header claiming 50000x50000"]
    assert outcome.detail["body smaller than declared"] == (
        "bucket said 400 EntityTooSmall: Your proposed upload is smaller than the minimum allowed size")

    # The webhook that admits uploads takes MinIO's token only.
    body = minio_body(stack.bucket, [("originals/alice/" + "0" * 32, 1, "e")])
    assert [post_webhook(stack.url, body, token).status_code for token in (None, "wrong", "")] == [401, 401, 401]

    assert all(w.poll() is None for w in stack.workers)  # no input took a worker down ...
    after = Outcome("after")
    good = stack.upload(photo(seed=1))
    stack.deliver([good])
    assert judge(stack, after, [good.photo_id]) == {good.photo_id: "completed"}  # ... and they still serve


def test_load_with_workers_killed_at_random_loses_nothing(stack: PhotoStack) -> None:
    outcome, facts = load_with_kills(stack, photos=60, clients=10, kill_every=0.7)
    assert outcome.lost == 0, outcome.detail
    assert outcome.completed + outcome.failed == 60 and outcome.failed >= 6  # every 10th is a truncated JPEG
    assert facts["kills"] and facts["unsettled"] == {}
    # The DLQ holds every photo failed for a transient reason, and otherwise only jobs whose last
    # receive was killed, whose photos were left unfinished for reconcile to resume.
    assert facts["transient_failures"] <= facts["dlq"] <= facts["transient_failures"] | facts["unfinished"]
