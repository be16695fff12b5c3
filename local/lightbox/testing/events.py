"""Event factories for tests, in AWS's shapes: the emulator's own builders, so the two never differ."""

from __future__ import annotations

from lightbox.apigateway.events import http_event
from lightbox.eventbridge.schedule import schedule_event
from lightbox.s3.records import s3_put_event
from lightbox.sqs.messages import sqs_event

__all__ = ["http_event", "s3_put_event", "schedule_event", "sqs_event"]
