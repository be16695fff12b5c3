"""Secrets Manager secrets and SSM parameters on the embedded services, with the template's values
(a GenerateSecretString secret gets a password generated as Secrets Manager generates one)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

# GenerateSecretString's properties that GetRandomPassword takes by the same name.
_PASSWORD_OPTIONS = ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation",
                     "ExcludeUppercase", "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType")


def secret_string(client: Any, props: dict[str, Any]) -> str:
    if "SecretString" in props:
        return str(props["SecretString"])
    spec = props.get("GenerateSecretString") or {}
    options = {k: spec[k] for k in _PASSWORD_OPTIONS if k in spec}
    for flag in (k for k in options if k != "PasswordLength" and k != "ExcludeCharacters"):
        options[flag] = options[flag] in (True, "true")
    if "PasswordLength" in options:
        options["PasswordLength"] = int(options["PasswordLength"])
    password: str = client.get_random_password(**options)["RandomPassword"]
    if spec.get("SecretStringTemplate") and spec.get("GenerateStringKey"):
        doc = json.loads(spec["SecretStringTemplate"])
        doc[spec["GenerateStringKey"]] = password
        return json.dumps(doc)
    return password


def secret(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    created = False
    try:
        arn = client.describe_secret(SecretId=name)["ARN"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        args: dict[str, Any] = {"Name": name, "SecretString": secret_string(client, props)}
        for key in ("Description", "KmsKeyId", "Tags"):
            if props.get(key):
                args[key] = props[key]
        arn = client.create_secret(**args)["ARN"]
        created = True
    return {"Ref": arn, "Id": arn}, created


def parameter(client: Any, name: str, props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    kind = str(props.get("Type", "String"))
    value = props.get("Value")
    if isinstance(value, list):  # a StringList given as a list
        value = ",".join(map(str, value))
    created = False
    try:
        client.get_parameter(Name=name)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterNotFound":
            raise
        args: dict[str, Any] = {"Name": name, "Value": str(value), "Type": kind}
        for key in ("Description", "AllowedPattern", "Tier", "DataType", "Policies"):
            if props.get(key):
                args[key] = props[key]
        if isinstance(props.get("Tags"), dict):  # SSM's CloudFormation tags are a mapping
            args["Tags"] = [{"Key": k, "Value": str(v)} for k, v in props["Tags"].items()]
        client.put_parameter(**args)
        created = True
    return {"Ref": name, "Type": kind, "Value": str(value)}, created
