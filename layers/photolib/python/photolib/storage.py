"""Blobs in S3 (or MinIO / moto, through AWS_ENDPOINT_URL_S3): get, put, delete, list, presign.

Transient failures (connection errors, 5xx, throttling) are retried with backoff by tenacity,
then surface as TransientError so the caller's trigger retries; anything else (404, 403, a bad
request) is raised at once, because retrying cannot fix it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import BaseModel
from tenacity import retry, retry_if_exception, wait_exponential, wait_random

from photolib.config import Settings
from photolib.deadline import retry_stop
from photolib.exceptions import BlobMissing, TransientError

P = ParamSpec("P")
R = TypeVar("R")

_TRANSIENT_CODES = {
    "InternalError", "ServiceUnavailable", "SlowDown", "Throttling", "ThrottlingException",
    "RequestTimeout", "RequestTimeoutException", "RequestLimitExceeded", "503", "500", "502", "504",
}
# tenacity owns retrying; botocore's own retries would multiply the attempts and the wait.
_BOTO_CONFIG = Config(
    signature_version="s3v4", retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=30,
)


def is_transient(exc: BaseException) -> bool:
    # HTTPClientError: the connection was reset or closed mid-request (a server restarting).
    if isinstance(exc, BotoConnectionError | ReadTimeoutError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return err.get("Code") in _TRANSIENT_CODES or status >= 500
    return False


def aws_call(func: Callable[P, R]) -> Callable[P, R]:
    """Retry transient AWS errors with backoff for the caller's `retry_seconds` (Settings'; the
    first argument's attribute, else the default) or until the invocation's deadline, then raise
    TransientError for the trigger to retry."""
    retrying = retry(retry=retry_if_exception(is_transient),
                     wait=wait_exponential(multiplier=0.1, max=2.0) + wait_random(0, 0.1), reraise=True)(func)
    default = Settings.model_fields["retry_seconds"].default

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        budget = getattr(args[0], "retry_seconds", default) if args else default
        try:
            return retrying.retry_with(stop=retry_stop(budget))(*args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            if is_transient(exc):
                raise TransientError(f"{func.__name__}: {exc}") from exc
            raise

    return wrapper


_client_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    # boto3's default session is not thread-safe to create clients from; one lock, once per process.
    with _client_lock:
        return boto3.session.Session().client(service, endpoint_url=endpoint_url, region_name=region,
                                              config=_BOTO_CONFIG)


def s3_client(settings: Settings) -> Any:
    return _client("s3", settings.aws_endpoint_url_s3, settings.aws_region)


class ObjectInfo(BaseModel):
    key: str
    size: int
    content_type: str | None = None
    etag: str | None = None
    last_modified: datetime


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class Storage:
    def __init__(self, client: Any, bucket: str, retry_seconds: float | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.retry_seconds = Settings.model_fields["retry_seconds"].default if retry_seconds is None else retry_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        return cls(s3_client(settings), settings.photos_bucket, settings.retry_seconds)

    @aws_call
    def get(self, key: str) -> bytes:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise BlobMissing(f"s3://{self.bucket}/{key} does not exist") from exc
            raise

    @aws_call
    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    @aws_call
    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(
            key=key, size=r["ContentLength"], content_type=r.get("ContentType"), etag=r.get("ETag"),
            last_modified=r["LastModified"],
        )

    @aws_call
    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)  # deleting a missing key is not an error

    @aws_call
    def _list_page(self, prefix: str, token: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        return dict(self.client.list_objects_v2(**kwargs))

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        token: str | None = None
        while True:
            page = self._list_page(prefix, token)
            for obj in page.get("Contents", []):
                yield ObjectInfo(key=obj["Key"], size=obj["Size"], etag=obj.get("ETag"),
                                 last_modified=obj["LastModified"])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def delete_prefix(self, prefix: str) -> list[str]:
        keys = [o.key for o in self.objects(prefix)]
        for key in keys:
            self.delete(key)
        return keys

    # --- presigning is local signing: no network, nothing to retry

    def presign_post(self, key: str, content_type: str, size: int, expires: int) -> PresignedPost:
        """A form upload that S3 accepts only for this exact key, this content type and this size."""
        r = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires,
        )
        return PresignedPost(url=r["url"], fields={k: str(v) for k, v in r["fields"].items()})

    def presign_put(self, key: str, content_type: str, expires: int) -> str:
        return str(self.client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type}, ExpiresIn=expires,
        ))

    def presign_get(self, key: str, expires: int) -> str:
        return str(self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires,
        ))
