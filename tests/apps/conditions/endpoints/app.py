"""One handler behind every endpoint the template's ForEach makes: it shows what it was configured with."""

from __future__ import annotations

import os

_NAMES = ("ENDPOINT", "LABEL", "COLOUR", "DEBUG", "REGION_GROUP", "STACK_UUID", "FIRST_ZONE", "SUBNETS",
          "ENDPOINT_COUNT", "SETTINGS", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")


def handler(event, context):
    return {name: os.environ.get(name) for name in _NAMES}
