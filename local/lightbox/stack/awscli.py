"""`lightbox aws ...`: the AWS CLI against the running `lightbox up` of this folder (its state.json):
the embedded services, its S3 and its SQS API, with the local credentials, none of the user's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox import config
from lightbox.exceptions import LightboxError


def run_aws(state: Path, aws_args: list[str]) -> int:
    if not state.is_file():
        raise LightboxError(f"no running `lightbox up` here ({state} is missing): start one first")
    found = json.loads(state.read_text())
    aws = shutil.which("aws")
    if aws is None:
        raise LightboxError("the AWS CLI (`aws`) is not installed: install it (pip install awscli), or point any "
                            f"AWS SDK at AWS_ENDPOINT_URL={found.get('cloud_endpoint')}")
    env = {k: v for k, v in os.environ.items() if k not in config.USER_PROFILE_VARS}
    env.update(shell_env(found))
    return subprocess.call([aws, *with_endpoint(found, aws_args)], env=env)


# The AWS CLI's options that come before the service and take a value.
_VALUED = {"--output", "--region", "--profile", "--color", "--query", "--ca-bundle", "--cli-read-timeout",
           "--cli-connect-timeout", "--cli-binary-format", "--endpoint-url"}


def _service(aws_args: list[str]) -> str | None:
    skip = False
    for arg in aws_args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def with_endpoint(endpoints: Mapping[str, Any], aws_args: list[str]) -> list[str]:
    """The command with `--endpoint-url` of its service, unless it names one: the AWS CLI v1 ignores
    AWS_ENDPOINT_URL_SQS (its own SQS endpoint wins over the variable), and Lambda is the emulator's."""
    service = _service(aws_args)
    if service is None or any(a == "--endpoint-url" or a.startswith("--endpoint-url=") for a in aws_args):
        return aws_args
    named = {"sqs": "sqs_endpoint", "s3": "s3_endpoint", "s3api": "s3_endpoint", "lambda": "url"}
    endpoint = endpoints.get(named.get(service, "cloud_endpoint")) or endpoints.get("cloud_endpoint")
    return [*aws_args, "--endpoint-url", str(endpoint)] if endpoint else aws_args


def shell_env(endpoints: Mapping[str, Any]) -> dict[str, str]:
    """As a function's: the running stack's endpoints (its state.json), local credentials, no user profile."""
    key, secret = config.credentials()
    env = {config.ACCESS_KEY_VAR: key, config.SECRET_KEY_VAR: secret, "AWS_DEFAULT_REGION": config.REGION,
           "AWS_REGION": config.REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    for var, name in (("AWS_ENDPOINT_URL", "cloud_endpoint"), ("AWS_ENDPOINT_URL_S3", "s3_endpoint"),
                      ("AWS_ENDPOINT_URL_SQS", "sqs_endpoint"), ("AWS_ENDPOINT_URL_LAMBDA", "url")):
        if endpoints.get(name):
            env[var] = str(endpoints[name])
    return env
