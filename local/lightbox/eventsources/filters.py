"""FilterCriteria as Lambda applies it: a record goes to the function when any filter's pattern
matches it (or there are none); the patterns are EventBridge's (lightbox/template/patterns.py)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Callable
from typing import Any

from lightbox.exceptions import LightboxError
from lightbox.template.patterns import Pattern, parse
from lightbox.template.patterns import matches as pattern_matches


class InvalidFilter(LightboxError):
    """A FilterCriteria pattern Lambda refuses at CreateEventSourceMapping."""


def compile_filters(filters: tuple[dict[str, Any], ...], where: str) -> list[Pattern]:
    out = []
    for i, f in enumerate(filters):
        try:
            out.append(parse(str(f.get("Pattern", ""))))
        except (LightboxError, ValueError) as exc:
            raise InvalidFilter(f"{where}: FilterCriteria.Filters[{i}].Pattern: {exc}; a pattern is the JSON text "
                                "of an EventBridge event pattern") from None
    return out


def _json_or_text(text: str) -> Any:
    """Lambda filters a JSON body as its data, anything else as a plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def sqs_view(message: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as a pattern sees it: `body` parsed when it is JSON."""
    return {**message, "body": _json_or_text(str(message.get("body", "")))}


def kinesis_view(record: dict[str, Any]) -> dict[str, Any]:
    """A Kinesis record as a pattern sees it: `data` decoded, and parsed when it is JSON."""
    data: Any = record.get("kinesis", {}).get("data", "")
    with contextlib.suppress(binascii.Error, UnicodeDecodeError):  # binary data stays as it is
        data = _json_or_text(base64.b64decode(data).decode())
    # Lambda's Kinesis filters name the record's data at the top: {"data": {...}}.
    return {**record, "data": data}


def keeper(patterns: list[Pattern], view: Callable[[dict[str, Any]], dict[str, Any]]
           ) -> Callable[[dict[str, Any]], bool]:
    """The check a record passes to reach the function."""
    if not patterns:
        return lambda record: True
    return lambda record: any(pattern_matches(p, view(record)) for p in patterns)
