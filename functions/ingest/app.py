"""ingest (S3 ObjectCreated on originals/): admit each uploaded object into the pipeline.

The object is checked against its row (size, content type), the row goes pending_upload ->
queued, `photo.uploaded` is published and the first stage message sent. A duplicate or late
event finds the row past pending_upload and does nothing; an object with no row is recorded as
an orphan and not processed. A transient error is raised so the event is delivered again.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote_plus

from photolib.models import S3Event
from photolib.pipeline import Deps, ingest_object

log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s3_event = S3Event.model_validate(event)
    deps = Deps.load()
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
    return {"outcomes": outcomes}
