"""Issue 17: the template's resources exist on the embedded services before the first invocation,
with the template's properties; functions reach them (and nothing else) with plain boto3; their
Ref/GetAtt values are the real ones; the state survives a restart and `--reset` wipes it.

Everything is driven as a user drives it: `lightbox up` on tests/apps/cloud, boto3 against the
endpoint it prints, HTTP requests to the function.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from lightbox.services.processes import ManagedProcess, free_port, start_s3
from lightbox.testing.up import UpProcess, start_up

APP = Path(__file__).resolve().parents[1] / "apps" / "cloud"
TEMPLATE = APP / "template.yaml"


def printed_endpoint(up: UpProcess) -> str:
    """The endpoint `lightbox up` tells a user to point a shell's AWS tools at."""
    found = re.search(r"^  AWS +(http://\S+)", up.log_path.read_text(), re.M)
    assert found, up.log_path.read_text()
    return found.group(1)


def client(up: UpProcess, service: str) -> Any:
    return boto3.client(service, endpoint_url=printed_endpoint(up), region_name="us-east-1",
                        aws_access_key_id="lightbox", aws_secret_access_key="lightbox")


def call(up: UpProcess, action: str) -> dict[str, Any]:
    reply = requests.get(f"{up.url}/{action}", timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    up = start_up(tmp_path_factory.mktemp("cloud"), ["-t", str(TEMPLATE)])
    yield up
    up.stop()


def test_tables_have_the_templates_keys_indexes_stream_and_ttl(cloud: UpProcess) -> None:
    ddb = client(cloud, "dynamodb")
    table = ddb.describe_table(TableName="cloud-orders")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"},
                                  {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-status"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["by-pk-status"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ttl = ddb.describe_time_to_live(TableName="cloud-orders")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    simple = ddb.describe_table(TableName="Counters")["Table"]  # SAM's SimpleTable, named by its logical id
    assert simple["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_topics_streams_secrets_parameters_and_buses_exist(cloud: UpProcess) -> None:
    sns = client(cloud, "sns")
    topic = "arn:aws:sns:us-east-1:000000000000:cloud-alerts"
    subs = {s["Endpoint"]: s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert set(subs) == {"arn:aws:sqs:us-east-1:000000000000:cloud-alerts-queue",
                         "arn:aws:sqs:us-east-1:000000000000:cloud-raw"}
    raw = sns.get_subscription_attributes(SubscriptionArn=subs["arn:aws:sqs:us-east-1:000000000000:cloud-raw"]
                                          ["SubscriptionArn"])["Attributes"]
    assert raw["RawMessageDelivery"] == "true"
    assert json.loads(raw["FilterPolicy"]) == {"severity": ["high"]}
    stream = client(cloud, "kinesis").describe_stream_summary(StreamName="cloud-clicks")["StreamDescriptionSummary"]
    assert (stream["OpenShardCount"], stream["RetentionPeriodHours"]) == (2, 48)
    secrets = client(cloud, "secretsmanager")
    assert json.loads(secrets.get_secret_value(SecretId="cloud/api-key")["SecretString"]) == {"key": "s3cr3t"}
    generated = json.loads(secrets.get_secret_value(SecretId="cloud/db")["SecretString"])
    assert generated["username"] == "app"
    assert len(generated["password"]) == 24 and generated["password"].isalnum()  # ExcludePunctuation
    assert client(cloud, "ssm").get_parameter(Name="/cloud/greeting")["Parameter"]["Value"] == "hello from ssm"
    buses = [b["Name"] for b in client(cloud, "events").list_event_buses()["EventBuses"]]
    assert "cloud-bus" in buses


def test_the_function_reads_the_secret_and_parameter_at_import_time(cloud: UpProcess) -> None:
    assert call(cloud, "import-time") == {"secret": {"key": "s3cr3t"}, "greeting": "hello from ssm"}


def test_ref_and_getatt_are_the_real_values(cloud: UpProcess) -> None:
    env = call(cloud, "env")
    table = client(cloud, "dynamodb").describe_table(TableName="cloud-orders")["Table"]
    assert env["TABLE"] == "cloud-orders"
    assert env["TABLE_ARN"] == table["TableArn"]
    assert env["STREAM_ARN"] == table["LatestStreamArn"]
    assert env["COUNTERS"] == "Counters"
    assert env["TOPIC_ARN"] in [t["TopicArn"] for t in client(cloud, "sns").list_topics()["Topics"]]
    kinesis = client(cloud, "kinesis").describe_stream_summary(StreamName="cloud-clicks")["StreamDescriptionSummary"]
    assert env["KINESIS_ARN"] == kinesis["StreamARN"]
    secrets = client(cloud, "secretsmanager")
    assert env["SECRET_ARN"] == secrets.describe_secret(SecretId="cloud/api-key")["ARN"]
    assert env["DB_SECRET_ARN"] == secrets.describe_secret(SecretId="cloud/db")["ARN"]
    assert env["PARAMETER"] == "/cloud/greeting"
    assert env["BUS_ARN"] == client(cloud, "events").describe_event_bus(Name="cloud-bus")["Arn"]


def test_functions_reach_only_the_embedded_services(cloud: UpProcess) -> None:
    env = call(cloud, "env")
    assert env["AWS_ENDPOINT_URL"] == printed_endpoint(cloud)
    assert (env["AWS_CONFIG_FILE"], env["AWS_SHARED_CREDENTIALS_FILE"], env["AWS_PROFILE"]) == \
        ("/dev/null", "/dev/null", None)
    done = call(cloud, "calls")  # DynamoDB, SNS and Secrets Manager from plain boto3
    assert done["item"] == {"pk": "order-1", "sk": "a", "status": "new"}
    assert done["published"] is True
    assert done["db"]["username"] == "app"
    item = client(cloud, "dynamodb").get_item(TableName="cloud-orders", Key={"pk": {"S": "order-1"}, "sk": {"S": "a"}})
    assert item["Item"]["status"] == {"S": "new"}


def test_a_restart_keeps_the_data_and_reset_wipes_it(tmp_path: Path) -> None:
    up = start_up(tmp_path, ["-t", str(TEMPLATE)])
    try:
        client(up, "dynamodb").put_item(TableName="cloud-orders", Item={"pk": {"S": "kept"}, "sk": {"S": "1"}})
        client(up, "ssm").put_parameter(Name="/cloud/greeting", Value="changed", Type="String", Overwrite=True)
        first_arn = call(up, "env")["SECRET_ARN"]
    finally:
        assert up.stop() == 0
    up = start_up(tmp_path, ["-t", str(TEMPLATE)])
    try:
        assert "0 created, 9 kept from the data dir" in up.log_path.read_text()
        items = client(up, "dynamodb").scan(TableName="cloud-orders")["Items"]
        assert items == [{"pk": {"S": "kept"}, "sk": {"S": "1"}}]
        assert call(up, "import-time")["greeting"] == "changed"
        assert call(up, "env")["SECRET_ARN"] == first_arn  # the same secret, not a new one
    finally:
        assert up.stop() == 0
    up = start_up(tmp_path, ["-t", str(TEMPLATE), "--reset"])
    try:
        assert "9 created, 0 kept" in up.log_path.read_text()
        assert client(up, "dynamodb").scan(TableName="cloud-orders")["Items"] == []
        assert call(up, "import-time")["greeting"] == "hello from ssm"
    finally:
        assert up.stop() == 0


def _lightbox_aws(up: UpProcess, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIGHTBOX_DATA_DIR": str(up.data_dir), "AWS_PROFILE": "not-a-profile-of-this-machine"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "lightbox", "aws", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI (`aws`) is not installed")
def test_lightbox_aws_runs_the_aws_cli_against_the_stack(cloud: UpProcess) -> None:
    done = _lightbox_aws(cloud, "dynamodb", "describe-table", "--table-name", "cloud-orders")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Table"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    done = _lightbox_aws(cloud, "ssm", "get-parameter", "--name", "/cloud/greeting")
    assert json.loads(done.stdout)["Parameter"]["Value"] == "hello from ssm"
    # The template's queues are the emulator's SQS API (the AWS CLI v1 ignores AWS_ENDPOINT_URL_SQS).
    done = _lightbox_aws(cloud, "sqs", "list-queues")
    assert done.returncode == 0, done.stderr
    assert f"{cloud.url}/_lightbox/sqs/000000000000/cloud-alerts-queue" in json.loads(done.stdout)["QueueUrls"]
    done = _lightbox_aws(cloud, "--output", "json", "lambda", "list-functions")  # the emulator's Lambda API
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Functions"]


def test_lightbox_aws_without_the_aws_cli_says_what_to_do(cloud: UpProcess, tmp_path: Path) -> None:
    done = _lightbox_aws(cloud, "dynamodb", "list-tables", path=str(tmp_path))  # a PATH with no `aws`
    assert done.returncode == 2
    assert done.stderr.strip() == ("lightbox: error: the AWS CLI (`aws`) is not installed: install it (pip install "
                                   f"awscli), or point any AWS SDK at AWS_ENDPOINT_URL={printed_endpoint(cloud)}")


def test_under_gunicorn_as_compose_runs_it_the_api_creates_the_resources(
        tmp_path: Path, redis_server: ManagedProcess, s3_server: ManagedProcess) -> None:
    """compose: a cloud service of its own, the api's two gunicorn workers both provisioning at boot."""
    cloud = start_s3(state_dir=tmp_path / "cloud", name="cloud")
    port = free_port()
    env = {**os.environ, "LIGHTBOX_TEMPLATE": str(TEMPLATE), "REDIS_URL": redis_server.url,
           "S3_ENDPOINT_URL": s3_server.url, "LIGHTBOX_CLOUD_ENDPOINT": cloud.url,
           "LIGHTBOX_DATA_DIR": str(tmp_path / "data"), "LIGHTBOX_HOST": "127.0.0.1", "LIGHTBOX_PORT": str(port),
           "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    root = Path(__file__).resolve().parents[2]
    with (tmp_path / "api.log").open("wb") as log:
        api = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "infra/gunicorn.conf.py"], cwd=root,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/_lightbox/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert api.poll() is None and time.monotonic() < deadline, (tmp_path / "api.log").read_text()[-3000:]
            time.sleep(0.2)
        reply = requests.get(f"http://127.0.0.1:{port}/import-time", timeout=30).json()
        assert reply == {"secret": {"key": "s3cr3t"}, "greeting": "hello from ssm"}
        env_seen = requests.get(f"http://127.0.0.1:{port}/env", timeout=30).json()
        ddb = boto3.client("dynamodb", endpoint_url=cloud.url, region_name="us-east-1")
        assert env_seen["STREAM_ARN"] == ddb.describe_table(TableName="cloud-orders")["Table"]["LatestStreamArn"]
        assert "not created" not in (tmp_path / "api.log").read_text()  # the two workers' race is no error
    finally:
        api.terminate()
        api.wait(timeout=30)
        cloud.stop()


@pytest.mark.lightbox_template("tests/apps/cloud/template.yaml")
def test_the_pytest_fixture_creates_the_resources_too(lightbox: Any) -> None:
    """The `lightbox` fixture (the plugin users test with) on the same app: resources exist, values real."""
    assert lightbox.http("GET", "/import-time").get_json() == {"secret": {"key": "s3cr3t"},
                                                                "greeting": "hello from ssm"}
    env = lightbox.http("GET", "/env").get_json()
    ddb = boto3.client("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    assert env["STREAM_ARN"] == ddb.describe_table(TableName="cloud-orders")["Table"]["LatestStreamArn"]
    assert lightbox.http("GET", "/calls").get_json()["item"]["status"] == "new"
