"""Every setting of the photo app, read from environment variables in this one place.

Precedence, once for all: an explicit argument to `Settings(...)` > the environment
variable named by the field (upper-cased, e.g. `photos_bucket` <- `PHOTOS_BUCKET`) > the
default written here. The template sets the production values; defaults suit a laptop.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from photolib.exceptions import ConfigurationError

# The order a photo goes through; each stage sends the message on to the next (routing slip).
DEFAULT_PIPELINE: tuple[str, ...] = ("validate", "metadata", "thumbnails", "optimize")
ALLOWED_CONTENT_TYPES: tuple[str, ...] = (
    "image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/heic", "image/heif",
)


class Settings(BaseSettings):
    # env_ignore_empty: a template variable left "" (REDIS_URL for the emulator to fill) means "default".
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True, env_ignore_empty=True)

    # --- where things live
    photos_bucket: str = Field("lightbox-photos", description="S3 bucket for originals and derivatives")
    photos_db_path: str = Field(".lightbox/photos.db", description="SQLite file holding photo records; a relative "
                                "path is the project folder's (project_root), shared by every function")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis holding the event stream")
    # boto3 reads these two itself; they are named here so the one list of settings is complete
    # and so cached clients are keyed on the endpoint they were built for.
    aws_endpoint_url_s3: str | None = Field(None, description="S3 endpoint (MinIO, moto); unset on AWS")
    aws_endpoint_url_sqs: str | None = Field(None, description="SQS endpoint (the emulator); unset on AWS")
    aws_region: str = Field(
        "us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="region for boto3 clients; Lambda sets AWS_REGION",
    )

    # Long enough to ride out an S3, MinIO or Redis restart; short against the functions' 30 s timeout.
    retry_seconds: float = Field(12.0, ge=0, description="how long one S3/SQS/Redis call retries a transient "
                                                         "error before the trigger's own retry takes over")

    # --- events
    events_stream: str = Field("lightbox:events", description="Redis Stream key that events go to")
    events_maxlen: int = Field(100_000, ge=1, description="approximate cap on the stream's length (XADD MAXLEN ~)")

    # --- client tokens (photolib/auth.py)
    token_secret: str = Field("", repr=False, description="HMAC secret of client tokens; the template sets it")
    token_max_age: int = Field(86_400, ge=1, description="seconds a client token stays valid after issue")

    # --- notify (SSE and long-poll)
    sse_heartbeat_seconds: float = Field(15.0, gt=0, description="idle SSE streams get a comment this often")
    sse_streaming: bool = Field(True, description="stream SSE for ever (emulator, a container); false on "
                                "Lambda, where each response ends after one long-poll round and the browser reconnects")
    longpoll_max_seconds: float = Field(25.0, gt=0, le=28, description="longest GET /events wait: under API "
                                        "Gateway's 29 s integration timeout")

    # --- limits
    max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1, description="largest original accepted, in bytes")
    max_pixels: int = Field(100_000_000, ge=1, description="largest width*height decoded (decompression bombs)")
    presign_expires: int = Field(300, ge=1, le=3600, description="seconds a presigned upload/download URL lives")
    page_size: int = Field(50, ge=1, le=1000, description="GET /photos page size when none is asked for")
    upload_rate_limit: int = Field(120, ge=0, description="upload creations per client per window; 0: no limit")
    upload_rate_window_seconds: int = Field(60, ge=1, description="the window upload_rate_limit counts in")
    max_receive_count: int = Field(3, ge=1, description="the queues' maxReceiveCount: last attempt fails the photo")

    # --- pipeline wiring: one queue per stage, Ref'd from the template
    validate_queue_url: str = Field("", description="queue feeding the validate stage")
    metadata_queue_url: str = Field("", description="queue feeding the metadata stage")
    thumbnails_queue_url: str = Field("", description="queue feeding the thumbnails stage")
    optimize_queue_url: str = Field("", description="queue feeding the optimize stage")
    thumbnail_sizes: tuple[int, ...] = Field((150, 300, 600), description="thumbnail bounding boxes, px")
    web_max_edge: int = Field(2048, ge=1, description="longest edge of the web rendition, px")

    # --- reconcile
    upload_expiry_minutes: int = Field(60, ge=1, description="a row still pending_upload after this fails")
    ingest_grace_minutes: int = Field(2, ge=0, description="wait this long for the bucket event before re-driving")
    stuck_minutes: int = Field(15, ge=0, description="a photo queued/processing with no progress this long has "
                                                    "lost its stage message: reconcile sends it again")
    max_resumes: int = Field(3, ge=1, description="reconcile resumes a stuck photo at most this often, then fails it "
                             "(a stage that always dies, e.g. killed by the function timeout)")
    orphan_grace_minutes: int = Field(60, ge=0, description="a blob with no row is deleted after this")

    @field_validator("photos_db_path")
    @classmethod
    def _in_the_project(cls, value: str) -> str:
        """A function runs in its own code folder (Lambda's /var/task), so a relative path would give each
        function a database of its own: it is taken from the project folder instead."""
        root = project_root()
        return str(root / value) if root is not None and not Path(value).is_absolute() else value

    def queue_url(self, stage: str) -> str:
        """The queue URL of a pipeline stage; a clear error when the template did not wire it."""
        url = getattr(self, f"{stage}_queue_url", None)
        if not url:
            raise ConfigurationError(
                f"no queue URL for stage {stage!r}: set {stage.upper()}_QUEUE_URL "
                f"(stages with queues: {', '.join(DEFAULT_PIPELINE)})"
            )
        return str(url)


@functools.cache
def project_root() -> Path | None:
    """The folder holding the app's template.yaml, above this layer's own files (layers/photolib/python/
    photolib/ in a checkout); None where there is none (a deployed layer, /opt/python)."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "template.yaml").is_file() and (folder / "layers").is_dir():
            return folder
    return None


def _env_names() -> frozenset[str]:
    """The variables Settings reads, lower-cased (it matches them case-insensitively)."""
    names: set[str] = set()
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).lower() for choice in alias.choices)
        else:
            names.add(name)
    return frozenset(names)


_ENV_NAMES = _env_names()


@functools.lru_cache(maxsize=32)
def _settings_for(env: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()  # type: ignore[call-arg]  # every field comes from the environment or its default


def load_settings(**overrides: object) -> Settings:
    """Settings for this invocation: read the environment each time so tests and the emulator can
    change it between invocations; clients built from it are cached per value. Parsing costs
    pydantic-settings about half a millisecond and every invocation asks, so the result is cached
    on the values of the variables it reads: a changed variable gives a new Settings."""
    if overrides:
        return Settings(**overrides)  # type: ignore[arg-type]
    return _settings_for(tuple(sorted((k, v) for k, v in os.environ.items() if k.lower() in _ENV_NAMES)))
