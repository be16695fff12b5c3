"""What S3 checks of a presigned request that moto's server does not: the URL's expiry, and a
browser-based POST against its signed policy (expiry, each condition, no field the policy does
not name, the file's size). Without these an upload the policy forbids is stored locally and
refused on AWS; a WSGI middleware on moto's S3 app refuses it here, with S3's error.

Signatures are not verified: the embedded server takes any credentials, as moto does. Where
S3's rules are stricter than this (starts-with on exact-only fields, Content-Type lists, a form
with its file first), the check lets the request through: a false refusal would break an app
that works on AWS. moto, not this, stores the form, and it keeps fields sent after the file
(x-amz-meta-*, Cache-Control) that S3 drops.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, NamedTuple
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# S3 asks no condition for these form fields (SigV4's and SigV2's signature fields, the file).
_UNSIGNED_FIELDS = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}
_MAX_EXPIRES = 604_800  # a week: S3's limit for a SigV4 presigned URL
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class S3Error:
    status: int
    code: str
    message: str
    details: dict[str, str] = field(default_factory=dict)

    def xml(self) -> bytes:
        parts = [f"<Code>{self.code}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{k}>{escape(v)}</{k}>" for k, v in self.details.items()]
        parts.append(f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId>")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()


def _denied(message: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {message}")


def _invalid(message: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {message}")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def url_error(query: Mapping[str, str], now: datetime) -> S3Error | None:
    """An expired (or over-long) presigned URL, SigV4 or SigV2; None when it may go on."""
    if "X-Amz-Expires" in query:
        try:
            expires = int(query["X-Amz-Expires"])
            signed = datetime.strptime(query.get("X-Amz-Date", ""), _AMZ_DATE).replace(tzinfo=UTC)
        except ValueError:
            return S3Error(400, "AuthorizationQueryParametersError",
                           "X-Amz-Expires must be a number of seconds and X-Amz-Date a date like 20260101T000000Z")
        if not 0 <= expires <= _MAX_EXPIRES:
            return S3Error(400, "AuthorizationQueryParametersError",
                           f"X-Amz-Expires must be less than a week (in seconds) that is {_MAX_EXPIRES}")
        deadline = signed + timedelta(seconds=expires)
        if now > deadline:
            return S3Error(403, "AccessDenied", "Request has expired", {
                "X-Amz-Expires": str(expires), "Expires": _iso(deadline), "ServerTime": _iso(now)})
    elif query.get("Expires", "").isdigit() and "Signature" in query:  # SigV2: seconds since the epoch
        deadline = datetime.fromtimestamp(min(int(query["Expires"]), 253_402_300_799), UTC)  # <= year 9999
        if now > deadline:
            return S3Error(403, "AccessDenied", "Request has expired",
                           {"Expires": _iso(deadline), "ServerTime": _iso(now)})
    return None


class _Condition(NamedTuple):
    op: str  # eq | starts-with | content-length-range
    name: str  # the form field, lowercased ("" for content-length-range)
    value: str
    low: int = 0
    high: int = 0


def _int(value: Any) -> int | None:
    # LocalStack and MinIO take "1048576" as well as 1048576; refusing it here would be the risk.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _condition(raw: Any) -> _Condition | None:
    """A condition as S3 reads it, or None if S3 could not read it."""
    if isinstance(raw, dict) and len(raw) == 1:
        (name, value), = raw.items()
        return _Condition("eq", name.lower(), value) if isinstance(value, str) else None
    if not (isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], str)):
        return None
    op = raw[0].lower()
    if op == "content-length-range":
        low, high = _int(raw[1]), _int(raw[2])
        return None if low is None or high is None else _Condition(op, "", "", low, high)
    if op in ("eq", "starts-with") and isinstance(raw[1], str) and raw[1].startswith("$") and isinstance(raw[2], str):
        return _Condition(op, raw[1][1:].lower(), raw[2])
    return None


def _shown(raw: Any) -> str:
    """A failed condition as S3 names it: ["eq", "$key", "value"]."""
    if isinstance(raw, dict) and len(raw) == 1:
        (name, value), = raw.items()
        raw = ["eq", f"${name}", value]
    return json.dumps(raw)


def _decode_policy(encoded: str) -> dict[str, Any] | S3Error:
    try:
        policy = json.loads(base64.b64decode(encoded))
    except (binascii.Error, ValueError):
        return _invalid("Invalid JSON.")
    if not isinstance(policy, dict):
        return _invalid("Invalid JSON.")
    for part in ("expiration", "conditions"):
        if part not in policy:
            return _invalid(f"Policy missing {part}.")
    if not isinstance(policy["conditions"], list):
        return _invalid("Invalid 'conditions' value: must be a List.")
    return policy


def policy_error(fields: Mapping[str, str], bucket: str, size: int | None, now: datetime) -> S3Error | None:
    """Why S3 would refuse this POST form (its fields before the file; the file's size, None if
    it has none), or None. As S3: the policy, then the fields, then the file."""
    form = {name.lower(): value for name, value in fields.items()}
    policy = _decode_policy(form.get("policy", ""))
    if isinstance(policy, S3Error):
        return policy
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]))
    except ValueError:
        return _invalid("Invalid 'expiration' value.")
    if now > (expiration if expiration.tzinfo else expiration.replace(tzinfo=UTC)):
        return _denied("Policy expired.")
    conditions = []
    for raw in policy["conditions"]:
        condition = _condition(raw)
        if condition is None:
            return _invalid(f"Invalid Condition: {json.dumps(raw)}")
        conditions.append((raw, condition))
    for raw, c in conditions:
        value = bucket if c.name == "bucket" else form.get(c.name, "")
        if (c.op == "eq" and value != c.value) or (c.op == "starts-with" and not value.startswith(c.value)):
            return _denied(f"Policy Condition failed: {_shown(raw)}")
    named = {c.name for _, c in conditions}
    extra = [name for name in form
             if name not in named and name not in _UNSIGNED_FIELDS and not name.startswith("x-ignore-")]
    if extra:
        return _denied(f"Extra input fields: {', '.join(extra)}")
    if size is None:
        return S3Error(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    for _, c in conditions:
        if c.op == "content-length-range" and size > c.high:
            return S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                           {"ProposedSize": str(size), "MaxSizeAllowed": str(c.high)})
        if c.op == "content-length-range" and size < c.low:
            return S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                           {"ProposedSize": str(size), "MinSizeAllowed": str(c.low)})
    return None


def read_form(body: bytes, boundary: bytes) -> tuple[dict[str, str], int | None]:
    """The fields before the one named `file` (S3 ignores any after it), and the file's size
    (None: no such field), counted as the parts go by rather than copied."""
    decoder = MultipartDecoder(boundary)
    fields: dict[str, str] = {}
    name, chunks, size = "", list[bytes](), None
    # Fed a piece at a time, as werkzeug's own parser does: given the whole body at once the
    # decoder shifts its whole buffer for each piece it hands out (20 ms per 3 MB upload here).
    pieces = (body[start:start + _CHUNK] for start in range(0, len(body), _CHUNK))
    for piece in itertools.chain(pieces, [None]):  # None: the end of the body
        decoder.receive_data(piece)
        while not isinstance(event := decoder.next_event(), NeedData | Epilogue):
            if isinstance(event, Field | File):  # File: a part with a filename; S3 goes by the name
                name, chunks = event.name or "", []
                if name.lower() == "file":
                    size = 0
            elif isinstance(event, Data):
                if size is not None:
                    size += len(event.data)
                else:
                    chunks.append(event.data)
                if not event.more_data:
                    if size is not None:
                        return fields, size
                    fields[name] = b"".join(chunks).decode("utf-8", "replace")
        if isinstance(event, Epilogue):
            break
    return fields, size


class PresignedChecks:
    """WSGI middleware for moto's S3 app: refuse what S3 would refuse (url_error, policy_error),
    pass the rest on."""

    def __init__(self, app: WSGIApp, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        error = self._error(environ)
        if error is None:
            return self.app(environ, start_response)
        _read_body(environ)  # drained: a client still sending its body would see a reset, not the error
        body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else error.xml()
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        if "HTTP_ORIGIN" in environ:  # as moto answers (flask-cors): a page can read why it was refused
            headers += [("Access-Control-Allow-Origin", environ["HTTP_ORIGIN"]), ("Vary", "Origin")]
        start_response(f"{error.status} {HTTPStatus(error.status).phrase}", headers)
        return [body]

    def _error(self, environ: dict[str, Any]) -> S3Error | None:
        # S3 judges a request as it arrives: an upload begun in time is not refused for ending late.
        now = self.clock()
        method, query = environ.get("REQUEST_METHOD"), environ.get("QUERY_STRING", "")
        if method == "OPTIONS":  # a CORS preflight: S3 answers it from the bucket's CORS rules alone
            return None
        if "Expires=" in query:  # X-Amz-Expires or SigV2's Expires: the rest need not parse the query
            return url_error({k: v[0] for k, v in parse_qs(query).items()}, now)
        content_type, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        if method == "POST" and content_type.lower() == "multipart/form-data" and "boundary" in options:
            return self._form_error(environ, options["boundary"].encode(), now)
        return None

    def _form_error(self, environ: dict[str, Any], boundary: bytes, now: datetime) -> S3Error | None:
        body = _read_body(environ)
        if body is None:
            return None
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the form again, from the start
        try:
            fields, size = read_form(body, boundary)
        except ValueError:
            return S3Error(400, "MalformedPOSTRequest",
                           "The body of your POST request is not well-formed multipart/form-data.")
        if not any(name.lower() == "policy" for name in fields):
            return None  # an anonymous form post: moto's bucket permissions decide
        return policy_error(fields, _bucket(environ), size, now)


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The whole body, by its Content-Length or to the end of a chunked one; None if unknowable."""
    length = environ.get("CONTENT_LENGTH", "")
    if length.isdigit():
        return bytes(environ["wsgi.input"].read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(environ["wsgi.input"].read())
    return None


def _bucket(environ: dict[str, Any]) -> str:
    """Path-style /bucket, else a virtual-hosted bucket.s3... or bucket.localhost host's bucket."""
    first = str(environ.get("PATH_INFO", "/")).lstrip("/").split("/", 1)[0]
    if first:
        return first
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0]
    for suffix in (".s3.", ".s3-", ".localhost"):
        if suffix in host:
            return host.split(suffix, 1)[0]
    return host.split(".", 1)[0]
