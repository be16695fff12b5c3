"""Retries stop at the invocation's deadline, not after each call's whole budget."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from lightbox.runtime.context import LambdaContext
from photolib import deadline
from photolib.exceptions import TransientError
from photolib.storage import aws_call


class Flaky:
    """An S3 call that never gets through, counting its attempts."""

    retry_seconds = 0.3  # the per-call budget

    def __init__(self) -> None:
        self.attempts = 0

    @aws_call
    def get(self) -> bytes:
        self.attempts += 1
        raise EndpointConnectionError(endpoint_url="http://s3.invalid")


def context(remaining_seconds: float) -> LambdaContext:
    return LambdaContext("StageFunction", remaining_seconds, 128, "us-east-1", "000000000000")


def test_without_a_deadline_a_call_retries_for_its_budget() -> None:
    call = Flaky()
    with deadline.invocation(None), pytest.raises(TransientError):  # no context: a handler called directly
        call.get()
    assert call.attempts > 1


def test_past_the_deadline_a_call_is_tried_once_and_fails_as_transient() -> None:
    call = Flaky()
    with deadline.invocation(context(deadline.MARGIN_SECONDS)), pytest.raises(TransientError):
        call.get()
    assert call.attempts == 1


def test_the_deadline_ends_with_the_invocation() -> None:
    with deadline.invocation(context(deadline.MARGIN_SECONDS)):
        pass
    call = Flaky()
    with pytest.raises(TransientError):
        call.get()
    assert call.attempts > 1
