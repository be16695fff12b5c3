"""Testing kit: run a SAM app's functions on the emulator from pytest (see local/pytest_plugin.py)."""

from __future__ import annotations

from local.testing.events import http_event, s3_put_event, schedule_event, sqs_event
from local.testing.harness import ConditionNotMet, Lightbox
from local.testing.recording import InvocationRecord
from local.testing.servers import TestServers

__all__ = ["ConditionNotMet", "InvocationRecord", "Lightbox", "TestServers", "http_event", "s3_put_event",
           "schedule_event", "sqs_event"]
