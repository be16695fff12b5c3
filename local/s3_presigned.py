"""What S3 checks of a presigned request that moto's server does not: the URL's expiry, and a
browser-based POST against its signed policy (expiry, each condition, no field the policy does
not name, the file's size). Without these an upload the policy forbids is stored locally and
refused on AWS; a WSGI middleware in front of moto's app refuses it here, with S3's error.

Signatures are not verified: the embedded server takes any credentials, as moto does.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Form fields no condition needs to name (SigV4 and SigV2 forms).
_UNSIGNED_FIELDS = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}
_MAX_EXPIRES = 604_800  # a week: S3's limit for a SigV4 presigned URL
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


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
    elif "Expires" in query and "Signature" in query:
        try:
            deadline = datetime.fromtimestamp(int(query["Expires"]), UTC)
        except (ValueError, OverflowError):
            return S3Error(403, "AccessDenied", "Invalid date (should be seconds since epoch)")
        if now > deadline:
            return S3Error(403, "AccessDenied", "Request has expired",
                           {"Expires": _iso(deadline), "ServerTime": _iso(now)})
    return None


def _decode_policy(encoded: str) -> dict[str, Any] | S3Error:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if not isinstance(policy, dict):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    for part in ("expiration", "conditions"):
        if part not in policy:
            return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: Policy missing {part}.")
    if not isinstance(policy["conditions"], list):
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value: must be a List.")
    return policy


def _condition(raw: Any) -> tuple[str, str, Any, Any]:
    """A condition as (op, lowercased field, operand, operand); ValueError if S3 could not read it."""
    if isinstance(raw, dict) and len(raw) == 1:
        (name, value), = raw.items()
        if isinstance(value, str):
            return "eq", name.lower(), value, None
    if isinstance(raw, list) and len(raw) == 3 and isinstance(raw[0], str):
        op = raw[0].lower()
        if op == "content-length-range" and all(isinstance(v, int) and not isinstance(v, bool) for v in raw[1:]):
            return op, "", raw[1], raw[2]
        if op in ("eq", "starts-with") and isinstance(raw[1], str) and raw[1].startswith("$") \
                and isinstance(raw[2], str):
            return op, raw[1][1:].lower(), raw[2], None
    raise ValueError(raw)


def _shown(raw: Any) -> str:
    """A failed condition as S3 names it: ["eq", "$key", "value"]."""
    if isinstance(raw, dict) and len(raw) == 1:
        (name, value), = raw.items()
        raw = ["eq", f"${name}", value]
    return json.dumps(raw)


def policy_error(fields: Mapping[str, str], bucket: str, size: int, now: datetime) -> S3Error | None:
    """Why S3 would refuse this POST form (fields as sent, the file's size), or None."""
    form = {name.lower(): value for name, value in fields.items()}
    policy = _decode_policy(form.get("policy", ""))
    if isinstance(policy, S3Error):
        return policy
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]))
    except ValueError:
        return S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.")
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if now > expiration:
        return _denied("Policy expired.")
    named = set()
    for raw in policy["conditions"]:
        try:
            op, name, low, high = _condition(raw)
        except ValueError:
            return _denied(f"Policy Condition failed: {_shown(raw)}")
        if op == "content-length-range":
            if size > high:
                return S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                               {"ProposedSize": str(size), "MaxSizeAllowed": str(high)})
            if size < low:
                return S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                               {"ProposedSize": str(size), "MinSizeAllowed": str(low)})
            continue
        named.add(name)
        value = bucket if name == "bucket" else form.get(name, "")
        if not (value == low if op == "eq" else value.startswith(low)):
            return _denied(f"Policy Condition failed: {_shown(raw)}")
    extra = [name for name in form
             if name not in named and name not in _UNSIGNED_FIELDS and not name.startswith("x-ignore-")]
    if extra:
        return _denied(f"Extra input fields: {', '.join(extra)}")
    return None


class PresignedChecks:
    """WSGI middleware: refuse what S3 would refuse (url_error, policy_error), pass the rest on."""

    def __init__(self, app: WSGIApp, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        error = self._error(environ)
        if error is None:
            return self.app(environ, start_response)
        body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else error.xml()
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        if "HTTP_ORIGIN" in environ:  # as moto answers (flask-cors): a page can read why it was refused
            headers += [("Access-Control-Allow-Origin", environ["HTTP_ORIGIN"]), ("Vary", "Origin")]
        start_response(f"{error.status} {error.code}", headers)
        return [body]

    def _error(self, environ: dict[str, Any]) -> S3Error | None:
        query = environ.get("QUERY_STRING", "")
        if "Expires=" in query and _is_s3(parse_qs(query).get("X-Amz-Credential", ["/"])[0]):
            return url_error({k: v[0] for k, v in parse_qs(query).items()}, self.clock())
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("CONTENT_LENGTH") \
                and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
            return self._form_error(environ)
        return None

    def _form_error(self, environ: dict[str, Any]) -> S3Error | None:
        # The form is read here and again by moto, so the body is kept and handed on whole.
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        environ["wsgi.input"] = io.BytesIO(body)
        # The body is in memory already: so are its parts (werkzeug would spool a file to disk).
        _, form, files = parse_form_data({**environ, "wsgi.input": io.BytesIO(body)},
                                         stream_factory=lambda *_, **__: io.BytesIO())
        if not any(name.lower() == "policy" for name in form):
            return None  # an anonymous form post: moto's bucket permissions decide
        upload = files.get("file")
        size = upload.stream.seek(0, io.SEEK_END) if upload is not None else 0
        return policy_error(form.to_dict(), _bucket(environ), size, self.clock())


def _is_s3(credential: str) -> bool:
    """SigV4 credentials name their service (AKID/date/region/s3/aws4_request); SigV2 ones do not."""
    scope = credential.split("/")
    return len(scope) < 4 or scope[3] == "s3"


def _bucket(environ: dict[str, Any]) -> str:
    """Path-style /bucket, else the first label of a virtual-hosted bucket.s3... host."""
    first = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
    return first or str(environ.get("HTTP_HOST", "")).split(".", 1)[0]
