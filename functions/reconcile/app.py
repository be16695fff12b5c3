"""reconcile (Schedule): repair what lost or late events left behind.

1. An original whose bucket event never came (object present, row still pending_upload after a
   grace period) is admitted exactly as ingest would admit it.
2. A row whose upload never came (pending_upload, no object, older than UPLOAD_EXPIRY_MINUTES)
   fails with stage "upload", so the client stops waiting for it.
3. A photo queued or processing with no progress for STUCK_MINUTES lost its stage message (a
   worker killed between admitting it and sending the message, or on the message's last receive;
   a Redis that came back without its data): the message of the stage it was at is sent again.
   Not while that stage's queue holds messages: behind a backlog longer than STUCK_MINUTES a photo
   is only waiting its turn, and resending would run it twice and count it towards MAX_RESUMES;
   but under steady traffic a queue is never empty, so past BACKLOG_PATIENCE such periods it is
   resent anyway.
4. A blob with no row (an orphan original, or derivatives of a deleted photo) is deleted once it
   is older than ORPHAN_GRACE_MINUTES: younger ones may belong to an upload still being created.

Every step is idempotent, so overlapping runs or a re-run after a crash do no harm.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from photolib import deadline
from photolib.models import PhotoStatus, ScheduledEvent, utcnow
from photolib.pipeline import (
    DERIVATIVES_PREFIX,
    ORIGINALS_PREFIX,
    Deps,
    ingest_object,
    parse_original_key,
    resume,
    resume_stage,
)

log = logging.getLogger(__name__)

BACKLOG_PATIENCE = 4  # x STUCK_MINUTES: an hour at the default

_DERIVATIVE_KEY = re.compile(r"^derivatives/(?P<client_id>[^/]+)/(?P<photo_id>[^/]+)/")


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    ScheduledEvent.model_validate(event)
    with deadline.invocation(context):
        counts = reconcile(Deps.load(), utcnow())
    log.info("reconcile: %s", dict(counts) or "nothing to do")
    return dict(counts)


def reconcile(deps: Deps, now: datetime) -> Counter[str]:
    s = deps.settings
    counts: Counter[str] = Counter()
    redrive_before = now - timedelta(minutes=s.ingest_grace_minutes)
    orphan_before = now - timedelta(minutes=s.orphan_grace_minutes)

    stuck = [p for status in (PhotoStatus.QUEUED, PhotoStatus.PROCESSING)
             for p in deps.repo.stale(status, now - timedelta(minutes=s.stuck_minutes))]
    # Asked before this run sends anything: a queue holding only what this run re-drives is no backlog.
    backlog = {stage: _backlog(deps, stage) for stage in {resume_stage(p) for p in stuck}}
    patience_before = now - timedelta(minutes=s.stuck_minutes * BACKLOG_PATIENCE)

    redriven: set[str] = set()  # just sent on their way: not stuck, whatever `now` says
    for obj in deps.storage.objects(ORIGINALS_PREFIX):
        parsed = parse_original_key(obj.key)
        photo = deps.repo.get(parsed[1], client_id=parsed[0]) if parsed else None
        if photo is None:
            if obj.last_modified < orphan_before:
                deps.storage.delete(obj.key)
                deps.repo.forget_orphan(obj.key)
                counts["orphans_deleted"] += 1
        elif photo.status == PhotoStatus.PENDING_UPLOAD and obj.last_modified < redrive_before:
            counts[f"redriven_{ingest_object(deps, obj.key, obj.size)}"] += 1
            redriven.add(photo.id)

    for photo in deps.repo.stale(PhotoStatus.PENDING_UPLOAD, now - timedelta(minutes=s.upload_expiry_minutes)):
        if deps.storage.head(photo.key) is None:
            deps.fail(photo, "upload", f"no upload arrived within {s.upload_expiry_minutes} minutes; "
                                       "request a new upload with POST /uploads")
            counts["expired"] += 1

    for photo in stuck:
        if photo.id in redriven:
            continue
        if backlog[resume_stage(photo)] and photo.updated_at >= patience_before:
            counts[f"waiting_{photo.status}"] += 1  # its message may be among them
        elif (outcome := resume(deps, photo)) != "moved":
            counts[f"{outcome}_{photo.status}"] += 1

    for obj in deps.storage.objects(DERIVATIVES_PREFIX):
        m = _DERIVATIVE_KEY.match(obj.key)
        if obj.last_modified < orphan_before and (not m or deps.repo.get(m["photo_id"]) is None):
            deps.storage.delete(obj.key)
            counts["derivatives_deleted"] += 1
    return counts


def _backlog(deps: Deps, stage: str) -> int:
    """Messages in the stage's queue; when it cannot be asked (a missing permission), it counts as
    busy, so photos wait for the patience limit and the other repairs still run."""
    try:
        return deps.backlog(stage)
    except Exception:
        log.exception("reconcile: could not read the depth of the %s queue", stage)
        return 1
