"""Answers with what its own layer says, and whether the public layer's package is installed here."""

from __future__ import annotations

import importlib.util

from pinglib import PONG


def handler(event, context):
    return {"pong": PONG, "powertools_installed": importlib.util.find_spec("aws_lambda_powertools") is not None}
