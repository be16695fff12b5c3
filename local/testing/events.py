"""Event factories for tests, in AWS's shapes: the emulator's own builders, so the two never differ."""

from __future__ import annotations

from local.events import http_event, s3_put_event, schedule_event, sqs_event

__all__ = ["http_event", "s3_put_event", "schedule_event", "sqs_event"]
