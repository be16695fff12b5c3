"""The embedded S3 server refuses what S3 refuses of presigned requests, and stores nothing of it;
every other request reaches moto as before."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from urllib3 import encode_multipart_formdata


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id="a", aws_secret_access_key="b", config=Config(signature_version="s3v4"))


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"presigned-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def post(s3: Any, bucket: str, key: str, body: bytes, content_type: str = "image/jpeg",
         **extra: str) -> requests.Response:
    form = s3.generate_presigned_post(
        Bucket=bucket, Key=key, Fields={"Content-Type": "image/jpeg"},
        Conditions=[{"Content-Type": "image/jpeg"}, ["content-length-range", 5, 5]], ExpiresIn=60)
    fields = {**form["fields"], "Content-Type": content_type, **extra}
    return requests.post(form["url"], data=fields, files={"file": ("photo.jpg", body, content_type)}, timeout=10)


def stored(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_a_form_within_its_policy_is_stored_with_its_content_type(s3: Any, bucket: str) -> None:
    assert post(s3, bucket, "ok", b"12345").status_code == 204
    assert s3.get_object(Bucket=bucket, Key="ok")["ContentType"] == "image/jpeg"


def test_forms_outside_their_policy_are_refused_and_nothing_is_stored(s3: Any, bucket: str) -> None:
    too_big = post(s3, bucket, "big", b"123456")
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    assert "<MaxSizeAllowed>5</MaxSizeAllowed>" in too_big.text
    other_type = post(s3, bucket, "html", b"12345", content_type="text/html")
    assert other_type.status_code == 403 and '["eq", "$Content-Type", "image/jpeg"]' in other_type.text
    extra = post(s3, bucket, "acl", b"12345", acl="public-read")
    assert extra.status_code == 403 and "Extra input fields: acl" in extra.text
    assert stored(s3, bucket) == []


def test_a_presigned_url_is_refused_once_expired(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    params = {"Bucket": bucket, "Key": "k"}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"x"
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    time.sleep(2.1)  # X-Amz-Date has whole seconds: 2 s is past the expiry whenever it was signed
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403 and "<Message>Request has expired</Message>" in expired.text


def test_other_posts_reach_moto_unchanged(s3: Any, bucket: str, s3_endpoint: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="multi")
    part = s3.upload_part(Bucket=bucket, Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=b"m" * 10)
    s3.complete_multipart_upload(Bucket=bucket, Key="multi", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "multi"}]})
    assert stored(s3, bucket) == []
    sqs = boto3.client("sqs", endpoint_url=s3_endpoint, region_name="us-east-1",
                       aws_access_key_id="a", aws_secret_access_key="b")
    queue = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "hello"


def test_a_chunked_form_is_checked_too(s3: Any, bucket: str) -> None:
    form = s3.generate_presigned_post(Bucket=bucket, Key="chunked", ExpiresIn=60,
                                      Conditions=[["content-length-range", 1, 5]])
    body, content_type = encode_multipart_formdata([*form["fields"].items(), ("file", ("f", b"123456"))])
    chunked = requests.post(form["url"], data=iter([body[:100], body[100:]]),  # an iterator: sent chunked
                            headers={"Content-Type": content_type}, timeout=10)
    assert chunked.status_code == 400 and "<Code>EntityTooLarge</Code>" in chunked.text
    assert stored(s3, bucket) == []
