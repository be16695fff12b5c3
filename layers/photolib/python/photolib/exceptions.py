"""Errors the photo layer raises, split by what the caller should do about them.

A stage function only needs to tell two things apart: a data error fails the photo at once with
a reason a person can read (retrying gives the same answer), a transient error is raised again
so the queue trigger retries with backoff.
"""

from __future__ import annotations


class PhotolibError(Exception):
    """Base class of every error raised on purpose by photolib."""


class InvalidPhoto(PhotolibError):
    """The bytes are not a photo we can process: corrupt, truncated, unsupported, a bomb, too big.

    Never retried. ``reason`` is shown to the person who uploaded the file, so it says what is
    wrong with their file (and, where it helps, what is accepted), not how the code failed.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(PhotolibError):
    """Worth retrying: the network, a 5xx from S3, SQLITE_BUSY, Redis briefly unreachable."""


class ConfigurationError(PhotolibError):
    """The deployment is wired wrong (a queue URL missing, a message on the wrong queue).
    Raised so the message goes back to the queue and ends in its DLQ, where someone will look."""


class RateLimited(PhotolibError):
    """A client asked for more than its share; ``retry_after`` is whole seconds until it may again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidCursor(PhotolibError):
    """A pagination cursor this API did not hand out."""


class BlobMissing(PhotolibError):
    """The object is not in the bucket (deleted, or never written). Not transient: retrying
    cannot bring it back, so callers decide at once what its absence means."""


class Unauthorized(PhotolibError):
    """No client token, or one that is forged, expired or names no valid client (HTTP 401).
    ``code`` is machine-readable (missing_token, invalid_token, expired_token)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
