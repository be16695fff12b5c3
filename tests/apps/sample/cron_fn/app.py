from __future__ import annotations

from samplelib import record


def handler(event, context):
    record("cron", event)
