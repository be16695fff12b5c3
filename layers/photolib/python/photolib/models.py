"""Typed shapes of the photo app: records, the stage message (routing slip), events, and the
AWS event envelopes the handlers parse on their first line (AWS field names kept)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from photolib.config import ALLOWED_CONTENT_TYPES, DEFAULT_PIPELINE


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class PhotoStatus(StrEnum):
    PENDING_UPLOAD = "pending_upload"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class Photo(BaseModel):
    id: str
    client_id: str
    filename: str
    content_type: str
    declared_size: int
    key: str
    status: PhotoStatus = PhotoStatus.PENDING_UPLOAD
    stage: str | None = None  # the stage running, or the one that failed
    failure_reason: str | None = None
    size: int | None = None  # as stored, once the object arrived
    width: int | None = None
    height: int | None = None
    format: str | None = None
    placeholder: str | None = None
    trace_id: str = Field(default_factory=new_id)
    session_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Derivative(BaseModel):
    """A file made from the original, one per (photo_id, kind): thumb_150, web_jpeg ..."""

    photo_id: str
    kind: str
    key: str
    content_type: str
    width: int
    height: int
    size: int


class Orphan(BaseModel):
    key: str
    size: int | None = None
    reason: str
    first_seen_at: datetime = Field(default_factory=utcnow)


# --- input of POST /uploads ---------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Invisible format characters (bidi overrides such as U+202E, zero-width joiners): they make a
# name display as something it is not, e.g. "photo\u202egpj.exe" shows as "photoexe.jpg".
_FORMAT_CATEGORY = "Cf"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class UploadRequest(BaseModel):
    """What a client declares before uploading. Validated with context {"max_upload_bytes": n}."""

    model_config = ConfigDict(extra="ignore")

    filename: str
    content_type: str
    size: int

    @field_validator("filename")
    @classmethod
    def _filename(cls, v: str) -> str:
        name = unicodedata.normalize("NFC", v).strip()
        if not name:
            raise ValueError("filename is empty; send the file's own name, e.g. 'IMG_0001.jpg'")
        if _CONTROL.search(name):
            raise ValueError("filename contains NUL or control characters; send a plain file name")
        if any(unicodedata.category(ch) == _FORMAT_CATEGORY for ch in name):
            raise ValueError("filename contains invisible formatting characters (such as right-to-left marks); "
                             "send the name as plain text")
        if "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError("filename must be a bare name without directories (no '/', '\\' or '..')")
        if len(name.encode()) > 255:
            raise ValueError("filename is longer than 255 bytes")
        return name

    @field_validator("content_type")
    @classmethod
    def _content_type(cls, v: str) -> str:
        ct = v.split(";", 1)[0].strip().lower()
        if ct not in ALLOWED_CONTENT_TYPES:
            raise ValueError(f"content type {v!r} is not accepted; accepted: {', '.join(ALLOWED_CONTENT_TYPES)}")
        return ct

    @field_validator("size")
    @classmethod
    def _size(cls, v: int, info: ValidationInfo) -> int:
        limit = (info.context or {}).get("max_upload_bytes")
        if v < 1:
            raise ValueError("size must be at least 1 byte")
        if limit is not None and v > limit:
            raise ValueError(f"size {v} bytes is over the limit of {limit} bytes")
        return v


def valid_client_id(value: str) -> bool:
    """Client ids become part of object keys, so only a safe alphabet is allowed."""
    return bool(_CLIENT_ID.match(value))


# --- the stage message -------------------------------------------------------------------


class StageMessage(BaseModel):
    """Body of every stage queue message. `pipeline` is the routing slip; `step` indexes it."""

    photo_id: str
    client_id: str
    key: str
    trace_id: str
    session_id: str | None = None
    pipeline: list[str] = Field(default_factory=lambda: list(DEFAULT_PIPELINE))
    step: int = 0

    @property
    def stage(self) -> str:
        return self.pipeline[self.step]

    def next(self) -> StageMessage | None:
        """The message for the following stage, or None when this stage is the last."""
        if self.step + 1 >= len(self.pipeline):
            return None
        return self.model_copy(update={"step": self.step + 1})

    @classmethod
    def first(cls, photo: Photo, pipeline: tuple[str, ...] = DEFAULT_PIPELINE) -> StageMessage:
        return cls(
            photo_id=photo.id, client_id=photo.client_id, key=photo.key, trace_id=photo.trace_id,
            session_id=photo.session_id, pipeline=list(pipeline),
        )


# --- events on the stream ----------------------------------------------------------------


class EventType(StrEnum):
    UPLOADED = "photo.uploaded"
    PROCESSING_STARTED = "photo.processing.started"
    STAGE_COMPLETED = "photo.stage.completed"
    PROCESSING_COMPLETED = "photo.processing.completed"
    PROCESSING_FAILED = "photo.processing.failed"
    DELETED = "photo.deleted"


class EventMetadata(BaseModel):
    client_id: str
    session_id: str | None = None
    trace_id: str
    version: int = 1


class PhotoEvent(BaseModel):
    id: str = Field(default_factory=new_id)
    type: EventType
    data: dict[str, Any]
    metadata: EventMetadata
    timestamp: datetime = Field(default_factory=utcnow)

    @classmethod
    def about(cls, type: EventType, photo: Photo | StageMessage, **data: Any) -> PhotoEvent:
        """An event about one photo: its id is always in data, its client and trace in metadata."""
        photo_id = photo.id if isinstance(photo, Photo) else photo.photo_id
        return cls(
            type=type, data={"photo_id": photo_id, **data},
            metadata=EventMetadata(client_id=photo.client_id, session_id=photo.session_id, trace_id=photo.trace_id),
        )


# --- AWS event envelopes (field names as AWS sends them) -----------------------------------


class _AWS(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class S3Bucket(_AWS):
    name: str


class S3Object(_AWS):
    key: str  # URL-encoded, as S3 sends it ('+' for space)
    size: int | None = None
    eTag: str | None = None


class S3Entity(_AWS):
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(_AWS):
    eventName: str
    eventTime: datetime | None = None
    s3: S3Entity


class S3Event(_AWS):
    Records: list[S3EventRecord] = Field(default_factory=list)


class SQSRecord(_AWS):
    messageId: str
    receiptHandle: str | None = None
    body: str
    attributes: dict[str, str] = Field(default_factory=dict)
    eventSourceARN: str | None = None

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "1"))


class SQSEvent(_AWS):
    Records: list[SQSRecord] = Field(default_factory=list)


class HttpContext(_AWS):
    method: str
    path: str


class RequestContext(_AWS):
    http: HttpContext
    requestId: str | None = None


class HttpApiEvent(_AWS):
    """API Gateway HTTP API payload format 2.0."""

    version: str = "2.0"
    routeKey: str = "$default"
    rawPath: str
    rawQueryString: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    queryStringParameters: dict[str, str] = Field(default_factory=dict)
    pathParameters: dict[str, str] = Field(default_factory=dict)
    requestContext: RequestContext
    body: str | None = None
    isBase64Encoded: bool = False

    @field_validator("headers", "queryStringParameters", "pathParameters", mode="before")
    @classmethod
    def _absent_is_empty(cls, v: Any) -> Any:
        return v or {}  # API Gateway omits (or nulls) these when there are none

    def header(self, name: str, default: str | None = None) -> str | None:
        # API Gateway lower-cases header names in v2 payloads; be lenient with hand-made events.
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower(), default)


class ScheduledEvent(_AWS):
    id: str | None = None
    detail_type: str | None = Field(None, alias="detail-type")
    source: str | None = None
    time: datetime | None = None
