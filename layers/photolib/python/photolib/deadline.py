"""The invocation's deadline: retries stop in time for the function to fail cleanly.

Each S3, SQS or Redis call retries a transient error for up to `retry_seconds`; an invocation
making several such calls against a flapping service could spend longer than its Lambda
Timeout, and be killed mid-work instead of failing the message (and, on its last receive, the
photo) with a reason. A handler runs inside `invocation(context)`; every retry loop also stops
once the context's remaining time, less a margin, is spent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tenacity import RetryCallState, stop_after_delay
from tenacity.stop import stop_base

# Time left after the last retry to record the failure and report the batch item.
MARGIN_SECONDS = 3.0

_deadline: ContextVar[float | None] = ContextVar("photolib_deadline", default=None)


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Within this block retries end MARGIN_SECONDS before the context's remaining time does
    (no context, as in a test calling a handler directly: no deadline)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    token = _deadline.set(time.monotonic() + remaining() / 1000 - MARGIN_SECONDS if callable(remaining) else None)
    try:
        yield
    finally:
        _deadline.reset(token)


class stop_at_deadline(stop_base):  # named like tenacity's own stop conditions
    """A tenacity stop condition: true when the sleep before the next attempt would end past the
    current invocation's deadline."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        deadline = _deadline.get()
        return deadline is not None and time.monotonic() + retry_state.upcoming_sleep >= deadline


def retry_stop(budget_seconds: float) -> stop_base:
    """Stop after the call's own budget, or at the invocation's deadline, whichever comes first."""
    return stop_after_delay(budget_seconds) | stop_at_deadline()
