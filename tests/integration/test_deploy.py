"""Deployability, checked offline: template.yaml for `sam deploy` (cfn-lint, aws-sam-translator), and
docker-compose.yml for `docker compose up` (the compose-spec schema, every app command resolvable
in the image). Nothing here needs Docker or AWS."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import pytest
import yaml
from cfnlint.api import ManualArgs, lint_file
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from lightbox.cli import parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
APP_IMAGE = "lightbox:local"


# --- template.yaml ------------------------------------------------------------------------

def test_cfn_lint_finds_nothing_in_the_template() -> None:
    matches = lint_file(ROOT / "template.yaml", config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only when a template names one; ours names none."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def packaged() -> dict[str, Any]:
    """template.yaml as `sam package` leaves it: local CodeUri/ContentUri folders uploaded to S3."""
    template = yaml_parse((ROOT / "template.yaml").read_text())
    for name, res in template["Resources"].items():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                assert (ROOT / props[key]).is_dir(), f"{name}.{key} {props[key]} is not a folder sam build can use"
                props[key] = f"s3://sam-artifacts/{props[key].strip('/')}.zip"
    return dict(template)


@pytest.fixture(scope="module")
def translated(packaged: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the translator needs a region; conftest sets it too
    return dict(transform(copy.deepcopy(packaged), {}, _NoManagedPolicies()))


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_sam_translator_turns_the_template_into_plain_cloudformation(translated: dict[str, Any]) -> None:
    kinds = {r["Type"] for r in translated["Resources"].values()}
    assert not [k for k in kinds if k.startswith("AWS::Serverless::")], kinds
    assert "Transform" not in translated
    assert {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::EventSourceMapping",
            "AWS::ApiGatewayV2::Api", "AWS::Events::Rule", "AWS::S3::Bucket", "AWS::SQS::Queue"} <= kinds


def test_the_translated_stack_wires_bucket_queues_api_schedule_and_layer(translated: dict[str, Any]) -> None:
    res = translated["Resources"]
    functions = _of_type(translated, "AWS::Lambda::Function")
    [layer] = _of_type(translated, "AWS::Lambda::LayerVersion")
    assert all({"Ref": layer} in f["Properties"]["Layers"] for f in functions.values())
    # S3 -> SQS -> ingest for originals/ only; derivatives written back must not re-trigger it.
    bucket = res["PhotosBucket"]
    [config] = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert config["Queue"] == {"Fn::GetAtt": ["BucketEventsQueue", "Arn"]}
    assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "originals/"}]
    # S3 checks it may send when the notification is created, so the policy must exist first.
    assert bucket["DependsOn"] == "BucketEventsQueuePolicy"
    [statement] = res["BucketEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    # The bucket-events queue and each stage queue feed one function, report partial batch
    # failures and have a DLQ.
    mappings = _of_type(translated, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 5
    ingest = [m for m in mappings.values() if m["Properties"]["FunctionName"] == {"Ref": "IngestFunction"}]
    assert [m["Properties"]["EventSourceArn"] for m in ingest] == [{"Fn::GetAtt": ["BucketEventsQueue", "Arn"]}]
    for mapping in mappings.values():
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        queue = props["EventSourceArn"]["Fn::GetAtt"][0]
        assert "deadLetterTargetArn" in res[queue]["Properties"]["RedrivePolicy"]
    # Deploying with the development token secret, or SSE that Lambda cannot stream, is refused.
    assert set(translated["Rules"]) == {"DeployedSecret", "BufferedSse"}
    # Reconcile may resume a photo at any stage, so it may send to every stage queue.
    reconcile_role = res[functions["ReconcileFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]]
    sends = [p for p in reconcile_role["Properties"]["Policies"]
             if "sqs:SendMessage*" in json.dumps(p["PolicyDocument"])]
    assert len(sends) == 4
    [rule] = _of_type(translated, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    routes = {r["Properties"]["RouteKey"] for r in _of_type(translated, "AWS::ApiGatewayV2::Route").values()}
    body = res["ServerlessHttpApi"]["Properties"].get("Body", {})
    routes |= {f"{m.upper()} {p}" for p, ops in body.get("paths", {}).items() for m in ops}
    assert {"POST /uploads", "GET /photos/{id}"} <= routes


# --- docker-compose.yml -------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == APP_IMAGE}


def test_compose_file_matches_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema_file = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_services_issue_asks_for_with_healthchecks_volumes_and_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"minio", "minio-init", "redis", "api", "worker", "scheduler"} <= set(services)
    for name, svc in services.items():
        if svc.get("restart") != "no":  # the one-shot minio-init is waited on with service_completed_successfully
            assert "healthcheck" in svc, f"{name} has no healthcheck"
    assert services["api"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert {"minio-data", "redis-data", "sqlite-data", "minio-events"} <= set(compose["volumes"])
    assert any(p.endswith(":3000") and "3000" in p for p in services["api"]["ports"])
    assert {p.rsplit(":", 1)[1] for p in services["minio"]["ports"]} == {"9000", "9001"}
    # `--scale worker=N` needs a worker with no fixed host port and no fixed container name.
    assert "ports" not in services["worker"] and "container_name" not in services["worker"]
    assert "appendonly yes" in (ROOT / "infra" / "redis.conf").read_text()


def test_every_app_command_resolves_in_the_image(compose: dict[str, Any]) -> None:
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    copied = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    for src in copied:
        assert (ROOT / src).exists(), f"Dockerfile copies {src}, which is not in the repository"
    for name, svc in _app_services(compose).items():
        command = svc["command"]
        command = shlex.split(command) if isinstance(command, str) else command
        if command[0] == "lightbox":  # the console script pyproject declares: lightbox.cli:main
            args = parser().parse_args(command[1:])
            assert callable(args.func), name
        elif command[:2] == ["python", "-m"]:  # a module of the installed package (the cloud service)
            assert importlib.util.find_spec(command[2]) is not None, command
        elif command[0] == "gunicorn":
            conf = command[command.index("-c") + 1]
            assert conf in copied or any(conf.startswith(c.rstrip("/") + "/") for c in copied), conf
            # --check-config loads the config and builds the app (Redis/S3 are only dialled later).
            env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}  # the config picks one
            env.update(REDIS_URL="redis://127.0.0.1:1/0", S3_ENDPOINT_URL="http://127.0.0.1:1")
            done = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", *command[1:]], check=False,
                                  cwd=ROOT,
                                  env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr[-2000:]
        else:
            pytest.fail(f"{name}: unexpected command {command}")
    assert 'lightbox = "lightbox.cli:main"' in (ROOT / "pyproject.toml").read_text()


def test_overrides_name_template_parameters_and_minio_calls_the_receiver(compose: dict[str, Any]) -> None:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    env = compose["services"]["api"]["environment"]
    names = {pair.split("=", 1)[0] for pair in env["LIGHTBOX_PARAMETER_OVERRIDES"].split()}
    assert names <= set(template["Parameters"]), names - set(template["Parameters"])
    init_env = compose["services"]["minio-init"]["environment"]
    assert init_env["LIGHTBOX_WEBHOOK_ENDPOINT"].endswith("/_lightbox/s3-events")
    assert init_env["LIGHTBOX_WEBHOOK_TOKEN"] == env["LIGHTBOX_WEBHOOK_TOKEN"]
    script = (ROOT / "infra" / "minio-init.sh").read_text()
    for needed in ("queue_dir=", "auth_token=", "mc mb", "mc event add", "--prefix originals/"):
        assert needed in script
    assert subprocess.run(["sh", "-n", str(ROOT / "infra" / "minio-init.sh")], check=False).returncode == 0
    example = (ROOT / ".env.example").read_text()
    for var in ("MINIO_ROOT_PASSWORD", "LIGHTBOX_WEBHOOK_TOKEN", "TOKEN_SECRET",
                "LIGHTBOX_OPERATOR_TOKEN"):  # what the compose file insists on
        assert f"{var}=" in example


def test_only_the_api_and_minio_are_published_and_operator_endpoints_are_guarded(compose: dict[str, Any]) -> None:
    """Issue 17: what is reachable from outside the compose network. The api's port (its routes, and
    its AWS and operator endpoints behind signatures and a token), MinIO's API and console; nothing
    else (Redis, workers' and the scheduler's metrics ports stay inside)."""
    published = {name: sorted(p.rsplit(":", 1)[1] for p in svc.get("ports", []))
                 for name, svc in compose["services"].items() if svc.get("ports")}
    assert published == {"api": ["3000"], "minio": ["9000", "9001"]}
    for name, svc in _app_services(compose).items():
        assert "expose" not in svc, name
        env = svc["environment"]
        assert env["LIGHTBOX_VERIFY_SIGNATURES"] == "1", name
        assert env["LIGHTBOX_OPERATOR_TOKEN"].startswith("${LIGHTBOX_OPERATOR_TOKEN:?"), name
        assert env["AWS_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD:?"), name  # what SigV4 is checked against
