"""Partial batch responses read as Lambda reads them (ReportBatchItemFailures)."""

from __future__ import annotations

from typing import Any

import pytest

from lightbox.sqs.delivery import batch_item_failures

BATCH = {"m1", "m2", "m3"}


@pytest.mark.parametrize("result", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "done", 3])
def test_no_failures_reported_is_the_whole_batch_done(result: Any) -> None:
    assert batch_item_failures(result, BATCH) == set()


def test_the_named_messages_and_only_they_are_received_again() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert batch_item_failures(result, BATCH) == {"m2", "m3"}


@pytest.mark.parametrize("failures", [
    [{"itemIdentifier": "not-in-this-batch"}],
    [{"itemIdentifier": "m1"}, {"itemIdentifier": "elsewhere"}],
    [{"itemIdentifier": ""}],
    [{"itemIdentifier": None}],
    [{"messageId": "m1"}],  # the key Lambda reads is itemIdentifier
    ["m1"],
    {"itemIdentifier": "m1"},
])
def test_an_identifier_lambda_cannot_match_fails_the_whole_batch(failures: Any) -> None:
    assert batch_item_failures({"batchItemFailures": failures}, BATCH) == BATCH
