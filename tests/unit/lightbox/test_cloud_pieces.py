"""Issue 17's pure pieces: what a function's environment holds, the passthrough endpoints, the
CreateTable call a template's table becomes, the error for a service moto does not have, and the
moto state kept across restarts (moto in-process: the real backends, no mocks)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from template_helpers import load

from lightbox import awsenv, config
from lightbox.cloudformation import provision, tables
from lightbox.config import Settings
from lightbox.exceptions import LightboxError
from lightbox.runtime.environ import function_environment
from lightbox.services import snapshots
from lightbox.services.cloud import not_emulated
from lightbox.template import provisioned

CLOUD = "http://127.0.0.1:4566"


def test_functions_get_the_local_endpoints_and_no_user_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "users-token")
    env = config.function_env(Settings(cloud_endpoint=CLOUD, s3_endpoint="http://127.0.0.1:9000"))
    assert env["AWS_ENDPOINT_URL"] == CLOUD
    assert env["AWS_ENDPOINT_URL_S3"] == "http://127.0.0.1:9000"
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:3000/_lightbox/sqs"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    with function_environment(env):
        assert "AWS_PROFILE" not in os.environ and "AWS_SESSION_TOKEN" not in os.environ
        assert os.environ["AWS_ENDPOINT_URL"] == CLOUD
    assert os.environ["AWS_PROFILE"] == "prod"  # the emulator's own environment is untouched


def test_a_functions_own_profile_variable_is_kept() -> None:
    assert config.function_overlay({"AWS_PROFILE": "users"}, {"AWS_PROFILE": "template's"}) == \
        {"AWS_PROFILE": "template's"}


def test_passthrough_sends_the_named_services_to_aws_with_the_users_credentials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod")
    env = config.function_env(Settings(cloud_endpoint=CLOUD, aws_passthrough="dynamodb, secretsmanager"))
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "https://dynamodb.us-east-1.amazonaws.com"
    assert env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] == "https://secretsmanager.us-east-1.amazonaws.com"
    assert env["AWS_ENDPOINT_URL"] == CLOUD  # every other service stays local
    assert env["AWS_PROFILE"] == "prod" and "AWS_CONFIG_FILE" not in env


def test_passthrough_of_an_unknown_service_is_refused() -> None:
    with pytest.raises(LightboxError, match="--aws-passthrough 'dynamo': no AWS service of that name"):
        awsenv.passthrough_endpoints(["dynamo"], "us-east-1")


def test_a_template_table_becomes_its_create_table_call(tmp_path: Path) -> None:
    t = load(tmp_path, """
        T:
          Type: AWS::DynamoDB::Table
          Properties:
            TableName: t
            AttributeDefinitions: [{AttributeName: id, AttributeType: S}, {AttributeName: g, AttributeType: N}]
            KeySchema: [{AttributeName: id, KeyType: HASH}]
            ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
            GlobalSecondaryIndexes:
              - IndexName: byg
                KeySchema: [{AttributeName: g, KeyType: HASH}]
                Projection: {ProjectionType: KEYS_ONLY}
                ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
                ContributorInsightsSpecification: {Enabled: true}
            StreamSpecification: {StreamViewType: KEYS_ONLY}
    """)
    args = tables.create_table_args("t", t.resources["T"].properties)
    assert args["BillingMode"] == "PROVISIONED"
    assert args["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    assert args["GlobalSecondaryIndexes"] == [{
        "IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]


def _respond(environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    got: dict[str, Any] = {}
    body = b"".join(not_emulated(environ, lambda status, headers: got.update(status=status, headers=headers)))
    return got["status"], dict(got["headers"]), body


def test_a_service_moto_does_not_have_is_refused_in_its_protocols_shape() -> None:
    auth = "AWS4-HMAC-SHA256 Credential=lightbox/20261203/us-east-1/translate/aws4_request, SignedHeaders=host"
    status, headers, body = _respond({"HTTP_AUTHORIZATION": auth, "CONTENT_TYPE": "application/x-amz-json-1.1"})
    assert status.startswith("501") and headers["x-amzn-ErrorType"] == "NotImplemented"
    assert "translate is not emulated locally" in json.loads(body)["message"]
    _, headers, body = _respond({"HTTP_AUTHORIZATION": auth.replace("translate", "sdb"),
                                 "CONTENT_TYPE": "application/x-www-form-urlencoded"})
    assert b"<Code>NotImplemented</Code>" in body and b"sdb is not emulated" in body


def test_the_created_resources_real_values_reach_the_loader(tmp_path: Path) -> None:
    resources = """
        Table:
          Type: AWS::DynamoDB::Table
          Properties:
            AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
            KeySchema: [{AttributeName: id, KeyType: HASH}]
            StreamSpecification: {StreamViewType: NEW_IMAGE}
        Secret:
          Type: AWS::SecretsManager::Secret
          Properties: {GenerateSecretString: {PasswordLength: 12}}
        Fn:
          Type: AWS::Serverless::Function
          Properties:
            Handler: app.handler
            Runtime: python3.12
            InlineCode: "def handler(e, c): return 1"
            Environment:
              Variables: {STREAM: !GetAtt Table.StreamArn, SECRET: !Ref Secret}
    """
    template = load(tmp_path, resources)
    with mock_aws():
        done = provision.provision(template, "", tmp_path / "data")  # "" : boto3's own endpoint, intercepted
        assert not done.errors, done.errors
        table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName="Table")["Table"]
        secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId="Secret")
    assert done.created == ["Table", "Secret"] and not done.errors
    assert len(secret["SecretString"]) == 12
    variables = load(tmp_path, resources).functions["Fn"].environment
    assert variables == {"STREAM": table["LatestStreamArn"], "SECRET": secret["ARN"]}
    assert provisioned.read(tmp_path / "data")["Table"]["Type"] == "AWS::DynamoDB::Table"


def test_moto_state_survives_a_save_and_load(tmp_path: Path) -> None:
    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/p", Value="v", Type="String")
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        boto3.client("dynamodb", region_name="us-east-1").put_item(TableName="t", Item={"pk": {"S": "a"}})
        snapshots.save(tmp_path)
    with mock_aws():
        assert "ssm" in snapshots.load(tmp_path)
        assert boto3.client("ssm", region_name="us-east-1").get_parameter(Name="/p")["Parameter"]["Value"] == "v"
        assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName="t")["Items"] == [{"pk": {"S": "a"}}]


def test_an_unreadable_state_file_starts_empty(tmp_path: Path) -> None:
    (tmp_path / snapshots.FILE).write_bytes(b"not a pickle")
    assert snapshots.load(tmp_path) == []
