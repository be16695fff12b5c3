"""ingest (S3 ObjectCreated on originals/, through the bucket-events queue): admit each uploaded
object into the pipeline.

The object is checked against its row (size, content type), the row goes pending_upload ->
queued, `photo.uploaded` is published and the first stage message sent. A duplicate or late
event finds the row past pending_upload and does nothing; an object with no row is recorded as
an orphan and not processed. A transient error fails only that message, so the queue delivers
it again (and dead-letters it after maxReceiveCount).

The bucket notifies an SQS queue (S3 -> SQS -> Lambda, each message an S3 event); a direct S3
event (S3 -> Lambda) is accepted too, so the function works under either wiring.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from photolib import deadline
from photolib.models import S3Event, SQSEvent, SQSRecord
from photolib.pipeline import Deps, ingest_object
from photolib.queue import process_batch

log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.invocation(context):
        return _handle(event, Deps.load())


def _handle(event: dict[str, Any], deps: Deps) -> dict[str, Any]:
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        outcomes: dict[str, str] = {}

        def one(message: SQSRecord) -> None:
            # S3 puts an s3:TestEvent on the queue when the notification is configured: no Records.
            outcomes.update(ingest(deps, S3Event.model_validate_json(message.body)))

        result: dict[str, Any] = dict(process_batch(SQSEvent.model_validate(event), one))
        return {**result, "outcomes": outcomes}
    return {"outcomes": ingest(deps, S3Event.model_validate(event))}


def ingest(deps: Deps, s3_event: S3Event) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for record in s3_event.Records:
        if not record.eventName.startswith("ObjectCreated"):
            continue
        if record.s3.bucket.name != deps.settings.photos_bucket:
            log.warning("event for bucket %s ignored; this app's bucket is %s",
                        record.s3.bucket.name, deps.settings.photos_bucket)
            continue
        # S3 URL-encodes keys in events, with '+' for a space.
        key = unquote_plus(record.s3.object.key)
        outcomes[key] = ingest_object(deps, key, record.s3.object.size)
        log.info("ingest %s: %s", key, outcomes[key])
    return outcomes
