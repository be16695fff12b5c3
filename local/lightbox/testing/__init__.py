"""Testing kit: run a SAM app's functions on the emulator from pytest (see lightbox/testing/plugin.py)."""

from __future__ import annotations

from lightbox.testing.events import http_event, s3_put_event, schedule_event, sqs_event
from lightbox.testing.harness import ConditionNotMet, Lightbox
from lightbox.testing.recording import InvocationRecord
from lightbox.testing.servers import TestServers

__all__ = ["ConditionNotMet", "InvocationRecord", "Lightbox", "TestServers", "http_event", "s3_put_event",
           "schedule_event", "sqs_event"]
