"""Who may call the emulator's AWS endpoints: SigV4 checked against the configured credentials,
recomputed with botocore's own signer, refused as AWS refuses it.

Off unless LIGHTBOX_VERIFY_SIGNATURES is set (a laptop takes any credentials, as before; compose
turns it on). The credentials are the emulator's own (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
config.credentials), the ones every function is given, so functions' calls pass.

    refusal = verify(method, url, headers, body)      # None: signed by a known key, in time
    sigv4.protect(blueprint, "json")                  # Flask: every route of the blueprint
    app = sigv4.WsgiGuard(app)                        # WSGI: a whole server (the moto front)

Presigned URLs (query-string auth) are verified too. S3's browser POST forms carry their signature
in the form and are left to s3/presigned.py, which checks their policy but not their signature.
"""

from __future__ import annotations

import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from lightbox import config

_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


MISSING = Refusal(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
UNKNOWN_KEY = Refusal(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
MISMATCH = Refusal(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                   "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
                   "documentation for details.")


def _expired(signed: datetime, now: datetime) -> Refusal:
    limit = timedelta(seconds=config.SIGNATURE_MAX_AGE_SECONDS)
    return Refusal(403, "RequestExpired", f"Request has expired. Signature date {signed.strftime(_AMZ_DATE)} is "
                   f"more than {limit.seconds // 60} minutes from the server's time {now.strftime(_AMZ_DATE)}.")


def _malformed(what: str) -> Refusal:
    return Refusal(400, "IncompleteSignature", f"The request signature does not conform to AWS standards: {what}")


def enabled() -> bool:
    return config.verify_signatures()


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes | None,
           secrets: Mapping[str, str] | None = None, now: datetime | None = None) -> Refusal | None:
    """None when the request is signed (header or query) by a key of `secrets` (default: the configured
    credentials) within 15 minutes of now; else what AWS answers. `body` None: not read (the request
    carries X-Amz-Content-SHA256, as S3 clients send)."""
    key, secret = config.credentials()
    secrets = secrets if secrets is not None else {key: secret}
    now = now or datetime.now(UTC)
    lower = {k.lower(): v for k, v in headers.items()}
    base, _, query = url.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    presigned = dict(params).get("X-Amz-Signature")
    if presigned is not None:
        found = _query_parts(dict(params))
        rest = [p for p in query.split("&") if not p.startswith("X-Amz-Signature=")]  # the rest as sent
        url = f"{base}?{'&'.join(rest)}" if rest else base
    else:
        found = _header_parts(lower.get("authorization", ""))
    if isinstance(found, Refusal):
        return found
    access_key, date, region, service, signed_headers, signature = found
    if access_key not in secrets:
        return UNKNOWN_KEY
    stamp = (dict(params).get("X-Amz-Date") if presigned is not None else None) or lower.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        return _malformed("X-Amz-Date is missing or not in the form YYYYMMDDTHHMMSSZ")
    if abs(now - when) > timedelta(seconds=config.SIGNATURE_MAX_AGE_SECONDS) and presigned is None:
        return _expired(when, now)
    if when.strftime("%Y%m%d") != date:
        return MISMATCH
    expected = _signature(method, url, {h: lower[h] for h in signed_headers if h in lower}, body, stamp,
                          (access_key, secrets[access_key]), region, service, presigned is not None)
    return None if hmac.compare_digest(expected, signature) else MISMATCH


Parts = tuple[str, str, str, str, list[str], str]


def _header_parts(auth: str) -> Parts | Refusal:
    if not auth:
        return MISSING
    algorithm, _, rest = auth.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        return _malformed(f"unsupported algorithm {algorithm!r} (AWS4-HMAC-SHA256 is)")
    fields = dict(p.strip().partition("=")[::2] for p in rest.split(","))
    return _parts(fields.get("Credential", ""), fields.get("SignedHeaders", ""), fields.get("Signature", ""))


def _query_parts(query: Mapping[str, str]) -> Parts | Refusal:
    return _parts(query.get("X-Amz-Credential", ""), query.get("X-Amz-SignedHeaders", ""),
                  query.get("X-Amz-Signature", ""))


def _parts(credential: str, signed_headers: str, signature: str) -> Parts | Refusal:
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not signed_headers or not signature:
        return _malformed("Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders and Signature are required")
    return scope[0], scope[1], scope[2], scope[3], signed_headers.split(";"), signature


def _signature(method: str, url: str, headers: dict[str, str], body: bytes | None, stamp: str,
               key: tuple[str, str], region: str, service: str, presigned: bool) -> str:
    """botocore's own SigV4 computation of the request as it arrived (its signed headers only)."""
    from botocore import auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    s3 = service == "s3"  # S3 signs its path as sent, and a presigned URL no payload
    if presigned:
        signer: Any = (auth.S3SigV4QueryAuth if s3 else auth.SigV4QueryAuth)(Credentials(*key), service, region)
    else:
        signer = (auth.S3SigV4Auth if s3 else auth.SigV4Auth)(Credentials(*key), service, region)
    request = AWSRequest(method=method, url=url, headers=headers, data=b"" if presigned else (body or b""))
    request.context["timestamp"] = stamp
    canonical = signer.canonical_request(request)
    return str(signer.signature(signer.string_to_sign(request, canonical), request))


# -- answering a refusal in the protocol of the endpoint -----------------------------------------
def response_parts(refusal: Refusal, protocol: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body): "json" (AWS JSON 1.0/1.1: SQS, DynamoDB ...), "rest-json" (Lambda),
    "query" (XML ErrorResponse), "s3" (S3's XML Error)."""
    if protocol == "json":
        body = json.dumps({"__type": f"com.amazon.coral.service#{refusal.code}", "message": refusal.message})
        return refusal.status, [("Content-Type", "application/x-amz-json-1.0"),
                                ("x-amzn-query-error", f"{refusal.code};Sender")], body.encode()
    if protocol == "rest-json":
        return refusal.status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", refusal.code)], \
            json.dumps({"Type": "User", "message": refusal.message}).encode()
    error = f"<Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message>"
    if protocol == "s3":
        return refusal.status, [("Content-Type", "application/xml")], \
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{error}<RequestId>lightbox</RequestId></Error>'.encode()
    return refusal.status, [("Content-Type", "text/xml")], \
        f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error><RequestId>lightbox</RequestId></ErrorResponse>".encode()


def protect(blueprint: Any, protocol: str) -> None:
    """Every route of a Flask blueprint refuses requests not signed by the configured credentials."""
    from flask import Response, request

    def check() -> Response | None:
        refusal = verify(request.method, request_url(request.environ), dict(request.headers),
                         request.get_data(cache=True))
        if refusal is None:
            return None
        status, headers, body = response_parts(refusal, protocol)
        return Response(body, status=status, headers=headers)

    blueprint.before_request(check)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def request_url(environ: Mapping[str, Any]) -> str:
    """The URL as the client sent it (its path undecoded: the signature covers the raw path)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        raw = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/~")
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}{raw}"


class WsgiGuard:
    """A WSGI app in front of another: each request is verified before it reaches it."""

    def __init__(self, app: WsgiApp, protocol_of: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.app = app
        self.protocol_of = protocol_of or _protocol_of

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if _is_browser_form(environ):
            return self.app(environ, start_response)
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        if environ.get("CONTENT_LENGTH"):
            headers["content-length"] = environ["CONTENT_LENGTH"]
        body = None
        if "x-amz-content-sha256" not in headers:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
        refusal = verify(environ.get("REQUEST_METHOD", "GET"), request_url(environ), headers, body)
        if refusal is None:
            return self.app(environ, start_response)
        status, extra, payload = response_parts(refusal, self.protocol_of(environ))
        start_response(f"{status} {'Forbidden' if status == 403 else 'Bad Request'}",
                       [*extra, ("Content-Length", str(len(payload)))])
        return [payload]


def _is_browser_form(environ: Mapping[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and str(environ.get("CONTENT_TYPE", "")).startswith(
        "multipart/form-data") and "HTTP_AUTHORIZATION" not in environ


def _protocol_of(environ: Mapping[str, Any]) -> str:
    content = str(environ.get("CONTENT_TYPE", ""))
    scope = str(environ.get("HTTP_AUTHORIZATION", "")).split("Credential=")[-1].split(",")[0].split("/")
    if "X-Amz-Credential=" in str(environ.get("QUERY_STRING", "")) or (len(scope) == 5 and scope[3] == "s3"):
        return "s3"
    if content.startswith("application/x-amz-json"):
        return "json"
    if content.startswith("application/x-www-form-urlencoded"):
        return "query"
    return "rest-json" if "HTTP_X_AMZ_TARGET" not in environ else "json"
