"""What Lambda reports per function to CloudWatch (Invocations, Errors, Duration), as Prometheus
counters in the process that ran the invocation."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Lambda's own duration buckets would start at 1 ms; the last ones cover the 30 s+ stage timeouts.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

INVOCATIONS = Counter("lightbox_invocations", "Function invocations", ["function", "trigger"])
ERRORS = Counter("lightbox_invocation_errors", "Invocations that raised or timed out", ["function", "error"])
DURATION = Histogram("lightbox_invocation_duration_seconds", "Invocation wall time", ["function"],
                     buckets=_DURATION_BUCKETS)
def trigger_kind(trigger: str) -> str:
    """"sqs:validate-queue" -> "sqs": a label per trigger kind, not per queue or key (cardinality)."""
    return trigger.split(":", 1)[0] or "direct"


def observe_invocation(function: str, trigger: str, seconds: float, error: BaseException | None) -> None:
    INVOCATIONS.labels(function, trigger_kind(trigger)).inc()
    DURATION.labels(function).observe(seconds)
    if error is not None:
        ERRORS.labels(function, type(error).__name__).inc()
