"""The photo pipeline's moving parts shared by several functions: admitting an uploaded object
(ingest and reconcile both do it) and running one stage of the routing slip (every stage).

Every step is idempotent because delivery is at least once: status changes are
compare-and-set, results are upserts keyed by (photo, stage) and (photo, kind), and a stage
that finds its photo deleted removes what it wrote instead of recording it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import redis

from photolib import deadline, events, queue
from photolib.config import DEFAULT_PIPELINE, Settings, load_settings
from photolib.db import PhotoRepository, open_repository
from photolib.exceptions import BlobMissing, ConfigurationError, InvalidPhoto, TransientError
from photolib.models import (
    Derivative,
    EventType,
    Orphan,
    Photo,
    PhotoEvent,
    PhotoStatus,
    SQSEvent,
    SQSRecord,
    StageMessage,
)
from photolib.storage import ObjectInfo, Storage

log = logging.getLogger(__name__)

ORIGINALS_PREFIX = "originals/"
DERIVATIVES_PREFIX = "derivatives/"
_ORIGINAL_KEY = re.compile(r"^originals/(?P<client_id>[A-Za-z0-9_-]{1,64})/(?P<photo_id>[0-9a-f]{32})$")
_FINAL = (PhotoStatus.COMPLETED, PhotoStatus.FAILED)


def original_key(client_id: str, photo_id: str) -> str:
    return f"{ORIGINALS_PREFIX}{client_id}/{photo_id}"


def derivative_prefix(client_id: str, photo_id: str) -> str:
    return f"{DERIVATIVES_PREFIX}{client_id}/{photo_id}/"


def parse_original_key(key: str) -> tuple[str, str] | None:
    """(client_id, photo_id) of a key the upload function chose, or None for any other key."""
    m = _ORIGINAL_KEY.match(key)
    return (m["client_id"], m["photo_id"]) if m else None


@dataclass
class Deps:
    """Clients of one invocation, built from settings; each client is cached per process."""

    settings: Settings
    repo: PhotoRepository
    storage: Storage
    redis: redis.Redis
    sqs: Any

    @classmethod
    def load(cls, settings: Settings | None = None) -> Deps:
        settings = settings or load_settings()
        return cls(
            settings=settings, repo=open_repository(settings.photos_db_path),
            storage=Storage.from_settings(settings), redis=events.redis_client(settings.redis_url),
            sqs=queue.sqs_client(settings),
        )

    def publish(self, event: PhotoEvent) -> str:
        return events.publish(event, settings=self.settings, client=self.redis)

    def send(self, message: StageMessage) -> str:
        return queue.send(self.settings.queue_url(message.stage), message, client=self.sqs)

    def backlog(self, stage: str) -> int:
        return queue.backlog(self.settings.queue_url(stage), client=self.sqs)

    def fail(self, photo: Photo | StageMessage, stage: str, reason: str) -> None:
        photo_id = photo.id if isinstance(photo, Photo) else photo.photo_id
        if self.repo.fail(photo_id, stage, reason):
            self.publish(PhotoEvent.about(EventType.PROCESSING_FAILED, photo, stage=stage, reason=reason))


# --- admission: an object arrived for a row ----------------------------------------------


def ingest_object(deps: Deps, key: str, size: int | None = None) -> str:
    """What ingest does for one bucket event (and reconcile for an event that was lost).
    Returns the outcome: queued, duplicate, rejected, orphan or gone."""
    parsed = parse_original_key(key)
    photo = deps.repo.get(parsed[1], client_id=parsed[0]) if parsed else None
    if photo is None:
        reason = "no photo row for this key" if parsed else "key is not originals/{client_id}/{photo_id}"
        deps.repo.record_orphan(Orphan(key=key, size=size, reason=reason))
        log.warning("orphan object %s: %s; not processed", key, reason)
        return "orphan"
    if photo.status != PhotoStatus.PENDING_UPLOAD:
        return "duplicate"
    obj = deps.storage.head(key)
    if obj is None:
        return "gone"  # deleted between the event and now; DELETE already removed the row or will
    return admit(deps, photo, obj)


def admit(deps: Deps, photo: Photo, obj: ObjectInfo) -> str:
    problem = _mismatch(photo, obj, deps.settings.max_upload_bytes)
    if problem:
        deps.fail(photo, "ingest", problem)
        return "rejected"
    if not deps.repo.transition(photo.id, (PhotoStatus.PENDING_UPLOAD,), PhotoStatus.QUEUED, size=obj.size):
        return "duplicate"  # another delivery of the same event got here first
    try:
        deps.publish(PhotoEvent.about(EventType.UPLOADED, photo, size=obj.size, status=PhotoStatus.QUEUED))
        deps.send(StageMessage.first(photo))
    except Exception:
        # Put the row back so the retried event (or reconcile) admits it again instead of
        # seeing `queued` and taking it for a duplicate.
        deps.repo.transition(photo.id, (PhotoStatus.QUEUED,), PhotoStatus.PENDING_UPLOAD)
        raise
    return "queued"


def _mismatch(photo: Photo, obj: ObjectInfo, max_bytes: int) -> str | None:
    if obj.size > max_bytes:
        return f"uploaded {obj.size} bytes; the limit is {max_bytes} bytes"
    if obj.size != photo.declared_size:
        return f"uploaded {obj.size} bytes but {photo.declared_size} were declared; upload the declared file"
    stored_type = (obj.content_type or "").split(";", 1)[0].strip().lower()
    if stored_type and stored_type != photo.content_type:
        return f"uploaded as {stored_type!r} but declared {photo.content_type!r}; send the declared Content-Type"
    return None


def resume_stage(photo: Photo) -> str:
    """The stage a stopped photo starts again at: the one it was at, or the first."""
    return photo.stage if photo.stage in DEFAULT_PIPELINE else DEFAULT_PIPELINE[0]


def resume(deps: Deps, photo: Photo) -> str:
    """Send again the stage message of a photo that stopped moving (queued or processing, its
    message lost: Redis restarted without its data, a job dropped by hand). The stage it was at
    runs again, which is safe because stages are idempotent. Returns resumed, failed (resumed too
    often already) or moved (it moved on meanwhile)."""
    stage = resume_stage(photo)
    # Bounded: a stage that dies every time (a timeout kills it before it can fail the photo)
    # would otherwise go round DLQ -> reconcile -> DLQ for ever.
    key = f"lightbox:resumes:{photo.id}"
    resumes = int(cast(int, deps.redis.incr(key)))
    deps.redis.expire(key, 7 * 24 * 3600)
    if resumes > deps.settings.max_resumes:
        deps.fail(photo, stage, f"{stage} stopped without finishing {resumes} times (resumed "
                                f"{deps.settings.max_resumes} times); the photo may be too large to process in time")
        return "failed"
    message = StageMessage.first(photo).model_copy(update={"step": DEFAULT_PIPELINE.index(stage)})
    # Touching updated_at (same status and stage) makes the next run wait a full period again;
    # unchanged_since: a photo that moved on since it was read is not sent back to where it was.
    if not deps.repo.update(photo.id, only_if=(photo.status,), unchanged_since=photo.updated_at, stage=photo.stage):
        return "moved"
    deps.send(message)
    return "resumed"


# --- stages --------------------------------------------------------------------------------


@dataclass
class StageOutput:
    """What a stage produced: a result recorded under (photo, stage), files to store as
    derivatives, and fields to set on the photo row."""

    result: dict[str, Any]
    files: list[tuple[Derivative, bytes]] = field(default_factory=list)
    photo_fields: dict[str, Any] = field(default_factory=dict)


StageWork = Callable[[Deps, Photo, bytes], StageOutput]


def run_stage(event: dict[str, Any], context: Any, stage: str, work: StageWork) -> dict[str, list[dict[str, str]]]:
    """The body of every stage handler: parse the SQS event, run each message, report failures."""
    sqs_event = SQSEvent.model_validate(event)
    deps = Deps.load()
    with deadline.invocation(context):
        return queue.process_batch(sqs_event, lambda record: handle_message(deps, stage, work, record))


def handle_message(deps: Deps, stage: str, work: StageWork, record: SQSRecord) -> None:
    msg = StageMessage.model_validate_json(record.body)
    if msg.stage != stage:
        raise ConfigurationError(f"message for stage {msg.stage!r} arrived at {stage!r}: check the queue wiring")
    photo = deps.repo.get(msg.photo_id)
    if photo is None:
        _drop_deleted(deps, msg)
        return
    if photo.status in _FINAL:
        log.info("photo %s is %s; %s message dropped", photo.id, photo.status, stage)
        return
    try:
        _start(deps, photo, stage)
        _process(deps, stage, work, msg, photo)
    except Exception as exc:
        # Whatever broke (reading, the work, writing results, sending on), on the last receive the
        # queue gives up and the message goes to the DLQ: say so on the photo, or it stays
        # `processing` with nothing left to move it.
        if record.receive_count >= deps.settings.max_receive_count:
            deps.fail(photo, stage, _gave_up(stage, record.receive_count, exc))
        raise


def _gave_up(stage: str, attempts: int, exc: Exception) -> str:
    """The reason a person reads; the exception itself is in the log and the DLQ entry."""
    if isinstance(exc, TransientError):
        why = "a service it needs (storage, queue or database) stayed unavailable; upload the photo again later"
    else:
        why = f"an internal error ({type(exc).__name__}) that the operators can see in the dead-letter queue"
    return f"{stage} failed {attempts} times: {why}"


def _process(deps: Deps, stage: str, work: StageWork, msg: StageMessage, photo: Photo) -> None:
    try:
        data = deps.storage.get(photo.key)
        output = work(deps, photo, data)
    except BlobMissing:
        if deps.repo.get(photo.id) is None:  # deleted while we looked: nothing to do
            _drop_deleted(deps, msg)
        else:
            deps.fail(photo, stage, "the uploaded file is no longer in storage; upload the photo again")
        return
    except InvalidPhoto as exc:
        deps.fail(photo, stage, exc.reason)  # a data error: retrying gives the same answer
        return
    if not _record(deps, photo, stage, output):
        _drop_deleted(deps, msg)
        return
    deps.publish(PhotoEvent.about(EventType.STAGE_COMPLETED, photo, stage=stage))
    following = msg.next()
    if following is not None:
        deps.send(following)
    elif deps.repo.transition(photo.id, (PhotoStatus.PROCESSING,), PhotoStatus.COMPLETED, stage=None):
        deps.publish(PhotoEvent.about(EventType.PROCESSING_COMPLETED, photo, status=PhotoStatus.COMPLETED))


def _start(deps: Deps, photo: Photo, stage: str) -> None:
    waiting = (PhotoStatus.PENDING_UPLOAD, PhotoStatus.QUEUED)
    if deps.repo.transition(photo.id, waiting, PhotoStatus.PROCESSING, stage=stage):
        deps.publish(PhotoEvent.about(EventType.PROCESSING_STARTED, photo, stage=stage))
    else:
        deps.repo.update(photo.id, only_if=(PhotoStatus.PROCESSING,), stage=stage)


def _record(deps: Deps, photo: Photo, stage: str, output: StageOutput) -> bool:
    """Blobs first, then rows: a row never points at a missing blob. False: the photo was deleted."""
    for derivative, blob in output.files:
        deps.storage.put(derivative.key, blob, derivative.content_type)
    for derivative, _ in output.files:
        if not deps.repo.put_derivative(derivative):
            return False
    if output.photo_fields:
        deps.repo.update(photo.id, **output.photo_fields)
    return deps.repo.put_stage_result(photo.id, stage, output.result)


def _drop_deleted(deps: Deps, msg: StageMessage) -> None:
    # The photo was deleted mid-pipeline. DELETE removes the row first and the blobs after, so
    # anything this stage wrote after that listing is ours to remove.
    removed = deps.storage.delete_prefix(derivative_prefix(msg.client_id, msg.photo_id))
    log.info("photo %s is gone; %s message dropped, %d blobs removed", msg.photo_id, msg.stage, len(removed))
