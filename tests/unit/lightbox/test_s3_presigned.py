"""S3's presigned checks the embedded server adds to moto: URL expiry and POST policies, on
forms and URLs that boto3 signs (signing is local: no server is called), and the middleware
that applies them, in front of a plain WSGI app."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlparse

import boto3
import pytest
from botocore.config import Config
from urllib3 import encode_multipart_formdata
from werkzeug.test import Client, EnvironBuilder, TestResponse

from lightbox.s3.presigned import PresignedChecks, S3Error, policy_error, read_form, url_error

BUCKET = "photos"
NOW = datetime.now(UTC)  # for policies signed for 5 minutes; expiry tests take the time they signed at


def client(signature_version: str = "s3v4") -> Any:
    return boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="a", aws_secret_access_key="b",
                        config=Config(signature_version=signature_version))


def form(size: int = 10, expires: int = 300) -> dict[str, str]:
    """The fields of a form as the photo app signs it: exact key, content type and size."""
    post = client().generate_presigned_post(
        Bucket=BUCKET, Key="originals/alice/1", Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", size, size]],
        ExpiresIn=expires)
    return {k: str(v) for k, v in post["fields"].items()}


def with_policy(fields: dict[str, str], conditions: list[Any]) -> dict[str, str]:
    policy = {"expiration": (NOW + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
    return {**fields, "policy": base64.b64encode(json.dumps(policy).encode()).decode()}


def refused(error: S3Error | None) -> tuple[int, str, str]:
    assert error is not None
    return error.status, error.code, error.message


def test_a_form_as_signed_is_accepted() -> None:
    assert policy_error(form(), BUCKET, 10, NOW) is None
    sigv2 = client("s3").generate_presigned_post(Bucket=BUCKET, Key="k", ExpiresIn=60)["fields"]
    assert "signature" in sigv2 and policy_error(sigv2, BUCKET, 0, NOW) is None


@pytest.mark.parametrize(("size", "code", "limit"), [(11, "EntityTooLarge", "MaxSizeAllowed"),
                                                     (9, "EntityTooSmall", "MinSizeAllowed")])
def test_a_file_outside_content_length_range_is_refused_with_both_sizes(size: int, code: str, limit: str) -> None:
    error = policy_error(form(size=10), BUCKET, size, NOW)
    assert error is not None and (error.status, error.code) == (400, code)
    assert error.details == {"ProposedSize": str(size), limit: "10"}
    assert f"<ProposedSize>{size}</ProposedSize><{limit}>10</{limit}>".encode() in error.xml()


def test_a_field_other_than_signed_names_the_failed_condition() -> None:
    fields = {**form(), "Content-Type": "text/html"}
    assert refused(policy_error(fields, BUCKET, 10, NOW)) == (
        403, "AccessDenied",
        'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/jpeg"]')
    other_key = {**form(), "key": "originals/bob/1"}
    assert "$key" in refused(policy_error(other_key, BUCKET, 10, NOW))[2]


def test_the_bucket_condition_is_checked_against_the_request_bucket() -> None:
    assert "$bucket" in refused(policy_error(form(), "another-bucket", 10, NOW))[2]


def test_a_field_no_condition_names_is_refused_unless_x_ignore() -> None:
    assert refused(policy_error({**form(), "acl": "public-read"}, BUCKET, 10, NOW))[2] == (
        "Invalid according to Policy: Extra input fields: acl")
    assert policy_error({**form(), "x-ignore-tracking": "1"}, BUCKET, 10, NOW) is None


def test_field_names_match_whatever_their_case() -> None:
    fields = {("CONTENT-TYPE" if k == "Content-Type" else k): v for k, v in form().items()}
    assert policy_error(fields, BUCKET, 10, NOW) is None


def test_starts_with_accepts_the_prefix_and_an_empty_prefix_anything() -> None:
    conditions: list[Any] = [{"bucket": BUCKET}, ["starts-with", "$key", "originals/"], ["starts-with", "$acl", ""]]
    assert policy_error(with_policy({"key": "originals/x", "acl": "private"}, conditions), BUCKET, 1, NOW) is None
    assert "starts-with" in refused(policy_error(with_policy({"key": "thumbs/x", "acl": "private"}, conditions),
                                                 BUCKET, 1, NOW))[2]


def test_an_expired_policy_is_refused() -> None:
    fields, signed = form(expires=60), datetime.now(UTC)
    assert refused(policy_error(fields, BUCKET, 10, signed + timedelta(seconds=61))) == (
        403, "AccessDenied", "Invalid according to Policy: Policy expired.")


@pytest.mark.parametrize("condition", [["eq", "key", "x"], ["gt", "$key", "x"], ["content-length-range", "one", 2],
                                       {"key": 1}, {"key": "x", "acl": "y"}, "key"])
def test_a_condition_s3_cannot_read_makes_the_policy_invalid(condition: Any) -> None:
    error = policy_error(with_policy({"key": "x"}, [condition]), BUCKET, 1, NOW)
    message = f"Invalid Policy: Invalid Condition: {json.dumps(condition)}"
    assert refused(error) == (400, "InvalidPolicyDocument", message)


def test_content_length_range_may_be_numeric_strings() -> None:
    conditions: list[Any] = [{"key": "x"}, ["content-length-range", "1", "5"]]
    assert policy_error(with_policy({"key": "x"}, conditions), BUCKET, 5, NOW) is None
    assert refused(policy_error(with_policy({"key": "x"}, conditions), BUCKET, 6, NOW))[1] == "EntityTooLarge"


def test_fields_are_judged_before_the_files_size_and_a_form_needs_a_file() -> None:
    # S3 reads the fields against the policy before it takes the file.
    assert "$Content-Type" in refused(policy_error({**form(), "Content-Type": "text/html"}, BUCKET, 10**6, NOW))[2]
    assert refused(policy_error(form(), BUCKET, None, NOW))[:2] == (400, "InvalidArgument")


@pytest.mark.parametrize(("policy", "message"), [
    ("not base64!", "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b"[1]").decode(), "Invalid Policy: Invalid JSON."),
    (base64.b64encode(b'{"conditions": []}').decode(), "Invalid Policy: Policy missing expiration."),
])
def test_an_unreadable_policy_is_a_bad_request(policy: str, message: str) -> None:
    error = policy_error({"key": "x", "policy": policy}, BUCKET, 1, NOW)
    assert refused(error) == (400, "InvalidPolicyDocument", message)


def presigned_query(expires: int, signature_version: str = "s3v4") -> dict[str, str]:
    url = client(signature_version).generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "k"}, ExpiresIn=expires)
    return dict(parse_qsl(urlparse(url).query))


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_presigned_url_works_until_it_expires(signature_version: str) -> None:
    query, signed = presigned_query(60, signature_version), datetime.now(UTC)
    assert url_error(query, signed + timedelta(seconds=50)) is None
    late = signed + timedelta(seconds=70)
    error = url_error(query, late)
    assert refused(error) == (403, "AccessDenied", "Request has expired")
    assert error is not None and error.details["ServerTime"] == late.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_sigv4_url_may_not_live_over_a_week() -> None:
    query = {**presigned_query(60), "X-Amz-Expires": str(604_801)}
    assert refused(url_error(query, NOW))[:2] == (400, "AuthorizationQueryParametersError")
    assert refused(url_error({**query, "X-Amz-Expires": "soon"}, NOW))[:2] == (400, "AuthorizationQueryParametersError")


# --- the middleware, in front of a WSGI app that stands for moto's ----------------------------


def moto_stand_in(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("204 No Content", [])
    return [environ["wsgi.input"].read()]  # what moto would read: the body, whole


def send(fields: list[tuple[str, Any]], path: str = f"/{BUCKET}") -> TestResponse:
    """A multipart POST with the parts in this order; a bytes value is a file part."""
    body, content_type = encode_multipart_formdata(
        [(name, ("photo.jpg", v, "image/jpeg") if isinstance(v, bytes) else v) for name, v in fields])
    return Client(PresignedChecks(moto_stand_in)).post(path, data=body, content_type=content_type)


def test_fields_after_the_file_are_ignored_as_s3_ignores_them() -> None:
    # AWS's own example form has a submit button after the file.
    response = send([*form().items(), ("file", b"0123456789"), ("submit", "Upload to Amazon S3")])
    assert response.status_code == 204 and b"Upload to Amazon S3" in response.data  # moto got the whole body


def test_a_file_part_without_a_filename_is_measured_too() -> None:
    assert read_form(*_encoded([("key", "k"), ("FILE", "0123456789")])) == ({"key": "k"}, 10)
    assert read_form(*_encoded([("key", "k")])) == ({"key": "k"}, None)


@pytest.mark.parametrize("size", [0, 1, 65_536, 200_001])
def test_a_file_spanning_any_number_of_pieces_is_measured_exactly(size: int) -> None:
    body, boundary = _encoded([("key", "k"), ("file", "x" * size), ("after", "ignored")])
    assert read_form(body, boundary) == ({"key": "k"}, size)


def _encoded(fields: list[tuple[str, str]]) -> tuple[bytes, bytes]:
    body, content_type = encode_multipart_formdata(fields)
    return body, content_type.split("boundary=")[1].encode()


def test_a_refused_form_is_answered_with_s3s_error_and_moto_never_sees_it() -> None:
    response = send([*form().items(), ("file", b"01234567890")])
    assert response.status_code == 400 and response.status == "400 Bad Request"
    assert b"<Code>EntityTooLarge</Code>" in response.data and response.content_type == "application/xml"


def test_a_malformed_body_is_refused_as_s3_does() -> None:
    app = Client(PresignedChecks(moto_stand_in))
    response = app.post(f"/{BUCKET}", data=b"--b\r\nno headers", content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400 and b"MalformedPOSTRequest" in response.data


def test_preflights_and_non_s3_expires_pass_through() -> None:
    app = Client(PresignedChecks(moto_stand_in))
    expired = urlparse(client().generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"},
                                                       ExpiresIn=1)).query
    later = PresignedChecks(moto_stand_in, clock=lambda: datetime.now(UTC) + timedelta(minutes=5))
    assert Client(later).get(f"/{BUCKET}/k?{expired}").status_code == 403
    assert Client(later).options(f"/{BUCKET}/k?{expired}").status_code == 204  # S3 answers it from CORS rules
    assert app.get("/?Action=ListQueues&Expires=2001-01-01T00:00:00Z&Signature=x").status_code == 204


def test_a_form_is_judged_as_it_arrives_not_when_its_body_has_been_read() -> None:
    class SlowBody(io.BytesIO):
        """A body that takes 5 minutes to arrive: the clock moves on once it is read."""
        read_at_all = False

        def read(self, size: int | None = -1) -> bytes:
            SlowBody.read_at_all = True
            return super().read(size)

    start = datetime.now(UTC)
    body, content_type = encode_multipart_formdata([*form(expires=60).items(), ("file", ("p.jpg", b"0123456789"))])
    later = PresignedChecks(moto_stand_in, clock=lambda: start + timedelta(minutes=5 if SlowBody.read_at_all else 0))
    environ = EnvironBuilder(f"/{BUCKET}", method="POST", input_stream=SlowBody(body), content_type=content_type,
                             content_length=len(body)).get_environ()
    statuses: list[str] = []
    later(environ, lambda status, headers: statuses.append(status))
    assert SlowBody.read_at_all and statuses == ["204 No Content"]


def test_a_part_without_a_name_or_an_upper_case_content_type_is_still_read() -> None:
    body, _ = encode_multipart_formdata([*form().items(), ("file", ("p.jpg", b"01234567890"))])
    nameless = b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n"
    assert read_form(nameless, b"b") == ({"": "x"}, None)
    boundary = body.split(b"\r\n", 1)[0][2:].decode()
    response = Client(PresignedChecks(moto_stand_in)).post(
        f"/{BUCKET}", data=body, content_type=f"Multipart/Form-Data; boundary={boundary}")
    assert response.status_code == 400 and b"EntityTooLarge" in response.data
