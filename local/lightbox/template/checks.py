"""Typed reads of resolved properties: a wrong type is one line naming the resource and property.

CloudFormation accepts the string forms of numbers and booleans ("30", "true") wherever a number or
a boolean goes, so these do too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template.document import describe


def _wrong(resource: str, prop: str, wanted: str, value: Any) -> TemplateError:
    return TemplateError(resource, prop, f"must be {wanted}; got {describe(value)} ({_short(value)})")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def string(value: Any, resource: str, prop: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong(resource, prop, "a string", value)
    return str(value)


def optional_string(value: Any, resource: str, prop: str) -> str | None:
    return None if value is None else string(value, resource, prop)


def integer(value: Any, resource: str, prop: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool):
        raise _wrong(resource, prop, "a whole number", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _wrong(resource, prop, "a whole number", value)


def optional_integer(value: Any, resource: str, prop: str) -> int | None:
    return None if value is None else integer(value, resource, prop)


def number(value: Any, resource: str, prop: str, default: float | None = None) -> float:
    if value is None and default is not None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise _wrong(resource, prop, "a number", value)


def boolean(value: Any, resource: str, prop: str, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _wrong(resource, prop, "true or false", value)


def listing(value: Any, resource: str, prop: str) -> list[Any]:
    """A list; absent is empty. A string where a list is needed is refused, as CloudFormation does."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _wrong(resource, prop, "a list", value)
    return value


def strings(value: Any, resource: str, prop: str) -> list[str]:
    return [string(v, resource, f"{prop}[{i}]") for i, v in enumerate(listing(value, resource, prop))]


def mapping(value: Any, resource: str, prop: str) -> Mapping[str, Any]:
    """A mapping; absent is empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _wrong(resource, prop, "a mapping", value)
    return value
