"""What `Ref` and `Fn::GetAtt` give for each resource type: the emulator's own values where it models
the type (a queue's URL is the emulator's SQS endpoint), AWS-shaped deterministic names and ARNs for
the rest, so code that parses an ARN or a table name works; a placeholder for an attribute AWS has and
this table does not, which the caller reports.

Physical names: the template's own name property, else the logical id (in a child stack, prefixed by
the child's path: `Workers-Jobs`). AWS would add the stack name and a random suffix; a stable name is
what local tools and tests can find.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The property that names a resource, by type.
NAME_PROPERTIES = {
    "AWS::SQS::Queue": "QueueName", "AWS::S3::Bucket": "BucketName", "AWS::Lambda::Function": "FunctionName",
    "AWS::DynamoDB::Table": "TableName", "AWS::SNS::Topic": "TopicName", "AWS::Kinesis::Stream": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName", "AWS::Events::Rule": "Name",
    "AWS::Scheduler::Schedule": "Name", "AWS::IAM::Role": "RoleName", "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::Events::EventBus": "Name", "AWS::SecretsManager::Secret": "Name", "AWS::SSM::Parameter": "Name",
    "AWS::Logs::LogGroup": "LogGroupName", "AWS::ApiGateway::RestApi": "Name", "AWS::ApiGatewayV2::Api": "Name",
    "AWS::Lambda::Alias": "Name", "AWS::ApiGateway::Stage": "StageName", "AWS::ApiGatewayV2::Stage": "StageName",
}
# Ref gives the name for these types, and an ARN for the ones in _REF_ARN.
_REF_ARN = {"AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::SecretsManager::Secret",
            "AWS::Lambda::LayerVersion", "AWS::CloudFormation::Stack", "AWS::Lambda::EventSourceMapping"}
_REF_ID = {"AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api", "AWS::ApiGateway::Resource",
           "AWS::ApiGatewayV2::Integration", "AWS::ApiGatewayV2::Route", "AWS::ApiGateway::Authorizer",
           "AWS::ApiGatewayV2::Authorizer", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Method"}


@dataclass(frozen=True)
class StackIdentity:
    path: str  # "" for the root, Child, Child/Grandchild
    name: str  # AWS::StackName
    stack_id: str  # AWS::StackId
    region: str
    account: str
    sqs_endpoint: str  # queue URLs are the emulator's own


def short_id(*parts: str, length: int = 10) -> str:
    """A deterministic id in API Gateway's alphabet (lower-case letters and digits)."""
    digest = hashlib.sha1("/".join(parts).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 36] for b in digest[:length])


class Attributes:
    def __init__(self, stack: StackIdentity, types: Mapping[str, str],
                 name_property: Callable[[str, str], Any],
                 actual: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.stack = stack
        self._types = types  # logical id -> resource type, of the resources that exist
        self._name_property = name_property  # (logical id, property) -> its resolved value, or None
        # logical id -> {"Ref": ..., attribute: ...}: what the embedded services gave the resources
        # `lightbox up` created there (template/provisioned.py); these win over the derived values.
        self._actual = actual or {}

    def _arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        s = self.stack
        return f"arn:aws:{service}:{s.region if region else ''}:{s.account if account else ''}:{resource}"

    def physical_name(self, logical_id: str) -> str:
        kind = self._types[logical_id]
        prop = NAME_PROPERTIES.get(kind)
        given = self._name_property(logical_id, prop) if prop else None
        if isinstance(given, str | int) and str(given):
            return str(given)
        name = f"{self.stack.path.replace('/', '-')}-{logical_id}" if self.stack.path else logical_id
        if kind == "AWS::S3::Bucket":  # bucket names are lower case: letters, digits, dots and hyphens
            return re.sub(r"[^a-z0-9.-]", "-", name.lower())[:63]
        if kind == "AWS::SQS::Queue" and self._name_property(logical_id, "FifoQueue") in (True, "true"):
            return f"{name}.fifo"
        return name

    def function_arn(self, name: str) -> str:
        return self._arn("lambda", f"function:{name}")

    def ref(self, logical_id: str) -> Any:
        if "Ref" in self._actual.get(logical_id, {}):
            return self._actual[logical_id]["Ref"]
        kind = self._types[logical_id]
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"{self.stack.sqs_endpoint}/{self.stack.account}/{name}"
        if kind == "AWS::Lambda::Version":
            return f"{self._function_of(logical_id)}:1"
        if kind == "AWS::Lambda::Alias":
            return f"{self._function_of(logical_id)}:{name}"
        if kind in _REF_ID:
            return short_id(self.stack.path, logical_id)
        if kind in _REF_ARN or kind not in NAME_PROPERTIES:
            return self.arn(logical_id)
        return name

    def _function_of(self, logical_id: str) -> str:
        target = self._name_property(logical_id, "FunctionName") or self._name_property(logical_id, "TargetFunctionArn")
        name = str(target) if isinstance(target, str) else logical_id
        return name if name.startswith("arn:") else self.function_arn(name)

    def arn(self, logical_id: str) -> str:
        kind, name = self._types[logical_id], self.physical_name(logical_id)
        known = {
            "AWS::SQS::Queue": lambda: self._arn("sqs", name),
            "AWS::S3::Bucket": lambda: self._arn("s3", name, region=False, account=False),
            "AWS::Lambda::Function": lambda: self.function_arn(name),
            "AWS::Lambda::LayerVersion": lambda: self._arn("lambda", f"layer:{name}:1"),
            "AWS::DynamoDB::Table": lambda: self._arn("dynamodb", f"table/{name}"),
            "AWS::SNS::Topic": lambda: self._arn("sns", name),
            "AWS::Kinesis::Stream": lambda: self._arn("kinesis", f"stream/{name}"),
            "AWS::StepFunctions::StateMachine": lambda: self._arn("states", f"stateMachine:{name}"),
            "AWS::Events::Rule": lambda: self._arn("events", f"rule/{name}"),
            "AWS::Events::EventBus": lambda: self._arn("events", f"event-bus/{name}"),
            "AWS::Scheduler::Schedule": lambda: self._arn("scheduler", f"schedule/default/{name}"),
            "AWS::IAM::Role": lambda: self._arn("iam", f"role/{name}", region=False),
            "AWS::SecretsManager::Secret": lambda: self._arn("secretsmanager", f"secret:{name}-{short_id(name)[:6]}"),
            "AWS::Logs::LogGroup": lambda: self._arn("logs", f"log-group:{name}:*"),
            "AWS::CloudFormation::Stack": lambda: self._arn(
                "cloudformation", f"stack/{self.stack.name}-{logical_id}-{short_id(name, length=13).upper()}/"
                                  f"{_uuid_like(self.stack.path, logical_id)}"),
            "AWS::Lambda::EventSourceMapping": lambda: self._arn(
                "lambda", f"event-source-mapping:{_uuid_like(self.stack.path, logical_id)}"),
        }
        if kind in known:
            return known[kind]()
        service, _, resource = kind.removeprefix("AWS::").partition("::")
        return self._arn(service.lower(), f"{resource.lower()}/{name}")

    def get_att(self, logical_id: str, attribute: str) -> tuple[Any, bool]:
        """(value, True), or (a placeholder, False) for an attribute this table does not know."""
        if attribute in self._actual.get(logical_id, {}) and attribute not in ("Ref", "Type"):
            return self._actual[logical_id][attribute], True
        kind, name = self._types[logical_id], self.physical_name(logical_id)
        region = self.stack.region
        table: dict[str, Callable[[], Any]] = {"Arn": lambda: self.arn(logical_id)}
        if kind == "AWS::SQS::Queue":
            table |= {"QueueName": lambda: name, "QueueUrl": lambda: self.ref(logical_id)}
        elif kind == "AWS::S3::Bucket":
            table |= {"DomainName": lambda: f"{name}.s3.amazonaws.com",
                      "RegionalDomainName": lambda: f"{name}.s3.{region}.amazonaws.com",
                      "DualStackDomainName": lambda: f"{name}.s3.dualstack.{region}.amazonaws.com",
                      "WebsiteURL": lambda: f"http://{name}.s3-website-{region}.amazonaws.com"}
        elif kind == "AWS::Lambda::LayerVersion":
            table |= {"LayerVersionArn": lambda: self.arn(logical_id)}
        elif kind == "AWS::Lambda::Version":
            table |= {"Version": lambda: "1", "FunctionArn": lambda: self._function_of(logical_id)}
        elif kind == "AWS::Lambda::Alias":
            table |= {"AliasArn": lambda: self.ref(logical_id)}
        elif kind == "AWS::Lambda::Url":
            table |= {"FunctionUrl": lambda: f"https://{short_id(self.stack.path, logical_id, length=32)}"
                                             f".lambda-url.{region}.on.aws/",
                      "FunctionArn": lambda: self._function_of(logical_id)}
        elif kind == "AWS::DynamoDB::Table":
            table |= {"StreamArn": lambda: f"{self.arn(logical_id)}/stream/1970-01-01T00:00:00.000"}
        elif kind == "AWS::SNS::Topic":
            table |= {"TopicArn": lambda: self.arn(logical_id), "TopicName": lambda: name}
        elif kind == "AWS::StepFunctions::StateMachine":
            table |= {"Name": lambda: name}
        elif kind == "AWS::IAM::Role":
            table |= {"RoleId": lambda: "AROA" + short_id(name, length=17).upper()}
        elif kind == "AWS::ApiGateway::RestApi":
            table |= {"RootResourceId": lambda: short_id(self.stack.path, logical_id, "/"),
                      "RestApiId": lambda: self.ref(logical_id)}
        elif kind == "AWS::ApiGatewayV2::Api":
            table |= {"ApiId": lambda: self.ref(logical_id),
                      "ApiEndpoint": lambda: f"https://{self.ref(logical_id)}.execute-api.{region}.amazonaws.com"}
        elif kind == "AWS::SecretsManager::Secret":
            table |= {"Id": lambda: self.arn(logical_id)}
        elif kind == "AWS::Kinesis::Stream":
            table |= {"StreamArn": lambda: self.arn(logical_id)}
        elif kind == "AWS::Events::EventBus":
            table |= {"Name": lambda: name}
        elif kind == "AWS::SSM::Parameter":
            table |= {"Type": lambda: self._name_property(logical_id, "Type"),
                      "Value": lambda: self._name_property(logical_id, "Value")}
        if attribute in table:
            return table[attribute](), True
        return f"{self.arn(logical_id)}/{attribute}", False


def _uuid_like(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def stack_id(region: str, account: str, name: str, path: str = "") -> str:
    """AWS::StackId as AWS gives it: a full stack ARN, so `!Select [2, !Split ["/", !Ref AWS::StackId]]` works."""
    return f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{_uuid_like(name, path)}"
