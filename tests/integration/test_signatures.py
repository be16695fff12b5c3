"""Issue 17 (bullet 6): with LIGHTBOX_VERIFY_SIGNATURES on, the emulator's AWS endpoints (its SQS API
and the embedded services in front of moto) take only requests signed by the configured credentials,
and refuse the rest with AWS's error codes; functions, given those credentials, pass."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from test_cloud_resources import TEMPLATE, printed_endpoint

from lightbox.testing.signing import sqs_send
from lightbox.testing.up import UpProcess, start_up

KEY, SECRET = "AKIDLIGHTBOXTEST", "the-configured-secret"


@pytest.fixture(scope="module")
def verifying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    env = {"LIGHTBOX_VERIFY_SIGNATURES": "1", "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    up = start_up(tmp_path_factory.mktemp("verify"), ["-t", str(TEMPLATE)], env=env)
    yield up
    up.stop()


def sqs_url(up: UpProcess) -> tuple[str, str]:
    endpoint = f"{up.url}/_lightbox/sqs"
    return endpoint, f"{endpoint}/000000000000/cloud-alerts-queue"


def client(up: UpProcess, service: str, key: str = KEY, secret: str = SECRET, endpoint: str | None = None) -> Any:
    return boto3.client(service, endpoint_url=endpoint or printed_endpoint(up), region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}, signature_version="s3v4"))


@pytest.mark.parametrize(("key", "secret", "when", "code"), [
    (None, "", None, "MissingAuthenticationToken"),
    ("AKIDSOMEONEELSE", SECRET, None, "InvalidClientTokenId"),
    (KEY, "a-wrong-secret", None, "SignatureDoesNotMatch"),
    (KEY, SECRET, datetime.now(UTC) - timedelta(minutes=20), "RequestExpired"),
])
def test_the_sqs_api_refuses_what_is_not_signed_by_the_configured_key(
        verifying: UpProcess, key: str | None, secret: str, when: datetime | None, code: str) -> None:
    endpoint, queue = sqs_url(verifying)
    reply = sqs_send(endpoint, queue, "stage please", key, secret, when)
    assert reply.status_code == 403
    assert reply.json()["__type"].endswith(f"#{code}")
    assert reply.headers["x-amzn-query-error"] == f"{code};Sender"


def test_the_sqs_api_takes_signed_requests(verifying: UpProcess) -> None:
    endpoint, queue = sqs_url(verifying)
    assert sqs_send(endpoint, queue, "signed", KEY, SECRET).status_code == 200
    sqs = client(verifying, "sqs", endpoint=endpoint)
    assert "MessageId" in sqs.send_message(QueueUrl=queue, MessageBody="from boto3")
    with pytest.raises(ClientError) as refused:
        client(verifying, "sqs", secret="nope", endpoint=endpoint).send_message(QueueUrl=queue, MessageBody="x")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_the_embedded_services_refuse_what_is_not_signed_by_the_configured_key(verifying: UpProcess) -> None:
    assert "cloud-orders" in client(verifying, "dynamodb").list_tables()["TableNames"]
    for key, secret, code in (("AKIDSOMEONEELSE", SECRET, "InvalidClientTokenId"),
                              (KEY, "a-wrong-secret", "SignatureDoesNotMatch")):
        for service, call in (("dynamodb", lambda c: c.list_tables()),
                              ("secretsmanager", lambda c: c.get_secret_value(SecretId="cloud/api-key")),
                              ("sns", lambda c: c.list_topics())):
            with pytest.raises(ClientError) as refused:
                call(client(verifying, service, key, secret))
            assert refused.value.response["Error"]["Code"] == code, service
    unsigned = requests.post(printed_endpoint(verifying), data="{}", timeout=10, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    assert unsigned.status_code == 403 and "MissingAuthenticationToken" in unsigned.text


def test_s3_requests_and_presigned_urls_are_verified(verifying: UpProcess) -> None:
    s3 = client(verifying, "s3")
    s3.create_bucket(Bucket="signed-only")
    s3.put_object(Bucket="signed-only", Key="a.txt", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "signed-only", "Key": "a.txt"}, ExpiresIn=60)
    assert requests.get(url, timeout=10).content == b"hello"
    forged = client(verifying, "s3", secret="guess").generate_presigned_url(
        "get_object", Params={"Bucket": "signed-only", "Key": "a.txt"}, ExpiresIn=60)
    refused = requests.get(forged, timeout=10)
    assert refused.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in refused.text
    with pytest.raises(ClientError) as denied:
        client(verifying, "s3", secret="guess").get_object(Bucket="signed-only", Key="a.txt")
    assert denied.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_functions_sign_with_the_configured_credentials(verifying: UpProcess) -> None:
    reply = requests.get(f"{verifying.url}/calls", timeout=30)  # DynamoDB, SNS, Secrets Manager from boto3
    assert reply.status_code == 200, reply.text
    assert reply.json()["published"] is True
    assert requests.get(f"{verifying.url}/import-time", timeout=30).json()["greeting"] == "hello from ssm"
