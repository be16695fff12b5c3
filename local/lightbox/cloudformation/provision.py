"""The template's resources, created on the embedded services before the first invocation.

Resource by resource with boto3 rather than through moto's own CloudFormation (`create_stack` with
the translated template): tried on moto 5.2 with the types below, moto's CloudFormation creates no
AWS::SecretsManager::Secret and no AWS::SNS::Subscription at all, ignores a table's
TimeToLiveSpecification, would create the functions and roles too (moto's Lambda, which we do not
run), and fails the whole stack on one resource it refuses. The API calls cover every property
listed in docs/templates.md, one resource's error is one line, and a resource that already exists
(state kept in the data dir) is kept as it is.

Not here: SQS queues are the emulator's own (on Redis, lightbox/sqs), and buckets are created by the
bucket-events set-up (lightbox/s3/poller.py), both as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lightbox import config
from lightbox.cloudformation import messaging, secrets, tables
from lightbox.config import Settings
from lightbox.template import provisioned
from lightbox.template.model import Resource, Template

Creator = Callable[[Any, str, dict[str, Any]], tuple[dict[str, Any], bool]]
# type -> (boto3 service, creator), in the order they are created: subscriptions after topics.
CREATORS: dict[str, tuple[str, Creator]] = {
    "AWS::DynamoDB::Table": ("dynamodb", tables.provision),
    "AWS::SNS::Topic": ("sns", messaging.topic),
    "AWS::Kinesis::Stream": ("kinesis", messaging.stream),
    "AWS::Events::EventBus": ("events", messaging.event_bus),
    "AWS::SecretsManager::Secret": ("secretsmanager", secrets.secret),
    "AWS::SSM::Parameter": ("ssm", secrets.parameter),
    "AWS::SNS::Subscription": ("sns", lambda client, _name, props: messaging.subscribe(
        client, str(props.get("TopicArn")), props)),
}


@dataclass
class Provisioned:
    created: list[str] = field(default_factory=list)  # Child/LogicalId
    kept: list[str] = field(default_factory=list)  # already there (state from an earlier run)
    passed: list[str] = field(default_factory=list)  # their service goes to AWS (--aws-passthrough)
    errors: list[str] = field(default_factory=list)  # one line each
    values: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        if self.created or self.kept:
            out.append(f"  resources   {len(self.created)} created, {len(self.kept)} kept from the data dir "
                       f"({', '.join([*self.created, *self.kept])})")
        if self.passed:
            out.append(f"  resources   not created locally (--aws-passthrough): {', '.join(self.passed)}")
        out.extend(f"  {line}" for line in self.errors)
        return out


@functools.cache
def _client(service: str, endpoint: str, region: str) -> Any:
    key, secret = config.credentials()
    cfg = Config(retries={"max_attempts": 2}, connect_timeout=2, read_timeout=30)
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=region).client(
        service, endpoint_url=endpoint or None, config=cfg)  # None: AWS (tests intercept it in-process)


def provision(template: Template, endpoint: str, data_dir: Path, passthrough: list[str] | None = None) -> Provisioned:
    """Create what the template declares and is not there yet; record every Ref/GetAtt value for the
    loader (template/provisioned.py), so functions' variables hold the real ARNs."""
    done = Provisioned()
    order = list(CREATORS)
    wanted = sorted((r for r in template.resources.values() if r.type in CREATORS), key=lambda r: order.index(r.type))
    for res in wanted:
        service, create = CREATORS[res.type]
        if service in (passthrough or []):
            done.passed.append(res.name)
            continue
        try:
            values, created = _create(create, _client(service, endpoint, template.region), res)
        except (ClientError, BotoCoreError, KeyError, ValueError, TypeError) as exc:
            done.errors.append(f"{res.name} ({res.user_type or res.type}): not created on the embedded services: "
                               f"{_reason(exc)}")
            continue
        (done.created if created else done.kept).append(res.name)
        done.values[res.name] = {"Type": res.type, **values}
    provisioned.write(data_dir, done.values)
    return done


# What a create answers when another process (a second gunicorn worker) created it a moment before.
_RACED = {"ResourceInUseException", "ResourceExistsException", "ParameterAlreadyExists",
          "ResourceAlreadyExistsException"}


def _create(create: Creator, client: Any, res: Resource) -> tuple[dict[str, Any], bool]:
    try:
        return create(client, res.physical_name, res.properties)
    except ClientError as exc:
        if exc.response["Error"].get("Code") not in _RACED:
            raise
        return create(client, res.physical_name, res.properties)  # now it exists: kept, with its values


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return f"{exc.response['Error'].get('Code')}: {exc.response['Error'].get('Message')}"
    return f"{type(exc).__name__}: {exc}"



def provision_for(settings: Settings, template: Template) -> Provisioned:
    """What `lightbox up` calls once its services run: the template's resources on its cloud endpoint."""
    return provision(template, str(settings.cloud_endpoint), settings.data_dir, settings.passthrough)
