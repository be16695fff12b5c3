"""SigV4 verification (lightbox/sigv4.py) against requests botocore itself signs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from lightbox import sigv4
from lightbox.testing.signing import signed_headers

URL = "http://127.0.0.1:3000/_lightbox/sqs"
BODY = json.dumps({"QueueUrl": f"{URL}/000000000000/jobs", "MessageBody": "hi"}).encode()
BASE = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}
SECRETS = {"AKIDLOCAL": "local-secret"}
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def headers(key: str = "AKIDLOCAL", secret: str = "local-secret", when: datetime = NOW) -> dict[str, str]:
    return signed_headers("POST", URL, BODY, dict(BASE), key, secret, "sqs", when=when)


def check(hdrs: dict[str, str], body: bytes = BODY, now: datetime = NOW) -> sigv4.Refusal | None:
    return sigv4.verify("POST", URL, hdrs, body, SECRETS, now=now)


def test_a_request_signed_with_the_configured_credentials_passes() -> None:
    assert check(headers()) is None
    assert check(headers(when=NOW - timedelta(minutes=14))) is None


@pytest.mark.parametrize(("hdrs", "code"), [
    (dict(BASE), "MissingAuthenticationToken"),
    (headers(key="AKIDOTHER"), "InvalidClientTokenId"),
    (headers(secret="wrong"), "SignatureDoesNotMatch"),
    (headers(when=NOW - timedelta(minutes=16)), "RequestExpired"),
    (headers(when=NOW + timedelta(minutes=16)), "RequestExpired"),
])
def test_refusals_are_awss(hdrs: dict[str, str], code: str) -> None:
    refusal = check(hdrs)
    assert refusal is not None and (refusal.status, refusal.code) == (403, code)


def test_a_changed_body_or_header_no_longer_matches() -> None:
    assert check(headers(), body=BODY.replace(b"hi", b"ho")) == sigv4.MISMATCH
    assert check({**headers(), "X-Amz-Target": "AmazonSQS.PurgeQueue"}) == sigv4.MISMATCH


def test_presigned_urls_are_verified() -> None:
    s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:9000", region_name="us-east-1",
                      aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret",
                      config=Config(signature_version="s3v4"))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": "a b/c.jpg"}, ExpiresIn=60)
    host = {"Host": "127.0.0.1:9000"}
    assert sigv4.verify("GET", url, host, b"", SECRETS) is None
    assert sigv4.verify("GET", url.replace("c.jpg", "d.jpg"), host, b"", SECRETS) == sigv4.MISMATCH
    forged = s3.generate_presigned_url("get_object", Params={"Bucket": "photos", "Key": "x"}, ExpiresIn=60)
    assert sigv4.verify("GET", forged, host, b"", {"AKIDLOCAL": "another"}) == sigv4.MISMATCH


@pytest.mark.parametrize(("protocol", "expected"), [
    ("json", b'"__type": "com.amazon.coral.service#SignatureDoesNotMatch"'),
    ("rest-json", b'"Type": "User"'),
    ("query", b"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"),
    ("s3", b"<Error><Code>SignatureDoesNotMatch</Code>"),
])
def test_a_refusal_in_each_protocols_error_shape(protocol: str, expected: bytes) -> None:
    status, hdrs, body = sigv4.response_parts(sigv4.MISMATCH, protocol)
    assert status == 403 and expected in body
    if protocol == "rest-json":
        assert ("x-amzn-ErrorType", "SignatureDoesNotMatch") in hdrs
