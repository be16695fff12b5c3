"""Event patterns: the one matcher for EventBridge rules and Lambda's `FilterCriteria` (also
imported as lightbox.eventbridge.patterns).

    parse(pattern) -> Pattern           raises InvalidPattern, naming what AWS would refuse
    matches(pattern, event) -> bool     pattern: a dict, its JSON text, or a parsed Pattern

The operators are moto's (`moto.events.models.EventPattern`): exact values, prefix, suffix,
anything-but (values, lists, prefix/suffix/equals-ignore-case/wildcard), numeric ranges, exists,
equals-ignore-case, wildcard, cidr, `$or`. Filled in here where moto differs from AWS:
- an array of objects in the event is matched element by element (`{"items": {"sku": ["a"]}}`
  matches `{"items": [{"sku": "b"}, {"sku": "a"}]}`); moto only looks at the array itself;
- `true`/`false` are not the numbers 1/0 (Python's `True == 1`), in values and in `numeric`;
- a pattern AWS refuses is refused here (an unknown operator, a malformed `numeric`, a non-boolean
  `exists`, an `$or` that is not a list of patterns); moto matches an unknown operator everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from moto.events.models import UNDEFINED
from moto.events.models import EventPattern as _MotoPattern
from moto.events.utils import EventMessageType

from lightbox.exceptions import LightboxError

_STRING_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_OPERATORS = (*_STRING_OPERATORS, "anything-but", "numeric", "exists", "cidr")
_COMPARISONS = ("<", "<=", "=", ">=", ">")


class InvalidPattern(LightboxError):
    """A pattern EventBridge (PutRule: InvalidEventPatternException) or Lambda would refuse."""

    def __init__(self, where: str, message: str) -> None:
        self.where, self.message = where, message
        super().__init__(f"Event pattern is not valid. Reason: {where or 'pattern'}: {message}")


class _Matcher(_MotoPattern):
    """moto's matcher with the differences from AWS filled in (see the module's docstring)."""

    @staticmethod
    def _flatten_dict(node: Any, prefix: str = "", result: dict[str, Any] | None = None) -> dict[str, Any]:
        result = {} if result is None else result
        if isinstance(node, dict):
            for key, value in node.items():
                _flatten_value(f"{prefix}.{key}" if prefix else key, value, result, False)
        return result

    def _does_item_match_filters(self, item: Any, filters: list[Any]) -> bool:
        values = item if isinstance(item, list) else [item]
        for f in filters:
            if isinstance(f, dict):
                if self._does_item_match_named_filter(_no_bools(item) if "numeric" in f else item, f):
                    return True
            elif item is not UNDEFINED and any(_same(f, v) for v in values):
                return True
        return False


def _flatten_value(key: str, value: Any, result: dict[str, Any], in_array: bool) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten_value(f"{key}.{k}", v, result, in_array)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for v in value:
            _flatten_value(key, v, result, True)
    elif in_array:
        held = result.setdefault(key, [])
        held.extend(value if isinstance(value, list) else [value])
    else:
        result[key] = value


def _same(expected: Any, actual: Any) -> bool:
    return isinstance(expected, bool) is isinstance(actual, bool) and expected == actual


def _no_bools(item: Any) -> Any:
    if isinstance(item, bool):
        return "bool"  # not a number: numeric never matches it
    return [v for v in item if not isinstance(v, bool)] if isinstance(item, list) else item


@dataclass(frozen=True)
class Pattern:
    """A parsed, validated event pattern."""

    source: dict[str, Any]

    def matches(self, event: dict[str, Any]) -> bool:
        # moto types its argument as its own PutEvents entry; any JSON object is matched the same way.
        return _Matcher(None, self.source).matches_event(cast("EventMessageType", event))


def parse(pattern: dict[str, Any] | str | Pattern) -> Pattern:
    """A pattern from its dict or JSON text, checked as EventBridge checks it in PutRule."""
    if isinstance(pattern, Pattern):
        return pattern
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except json.JSONDecodeError as e:
            raise InvalidPattern("", f"not JSON ({e.msg} at character {e.pos})") from None
    if not isinstance(pattern, dict):
        raise InvalidPattern("", "a pattern is a JSON object")
    _check_object(pattern, "")
    return Pattern(pattern)


def matches(pattern: dict[str, Any] | str | Pattern, event: dict[str, Any]) -> bool:
    """Whether `event` matches `pattern` (an empty pattern matches everything, as in FilterCriteria)."""
    return parse(pattern).matches(event)


def _check_object(node: dict[str, Any], where: str) -> None:
    for key, value in node.items():
        here = f"{where}.{key}" if where else key
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
                raise InvalidPattern(here, "$or takes a list of at least two patterns")
            for i, alternative in enumerate(value):
                _check_object(alternative, f"{here}[{i}]")
        elif isinstance(value, dict):
            _check_object(value, here)
        elif isinstance(value, list):
            if not value:
                raise InvalidPattern(here, "Empty arrays are not allowed")
            for v in value:
                _check_value(v, here)
        else:
            raise InvalidPattern(here, "must be an object or an array")


def _check_value(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise InvalidPattern(where, "a match value is a string, number, boolean, null or an operator object")
        return
    if len(value) != 1:
        raise InvalidPattern(where, f"an operator object holds one operator, not {sorted(value)}")
    (op, arg), = value.items()
    if op not in _OPERATORS:
        raise InvalidPattern(where, f"unknown operator {op!r}; operators are {', '.join(_OPERATORS)}")
    if op == "exists" and not isinstance(arg, bool):
        raise InvalidPattern(where, "exists takes true or false")
    elif op == "numeric":
        _check_numeric(arg, where)
    elif op == "anything-but":
        _check_anything_but(arg, where)
    elif op in ("prefix", "suffix"):
        if not (isinstance(arg, str) or (isinstance(arg, dict) and list(arg) == ["equals-ignore-case"]
                                         and isinstance(arg["equals-ignore-case"], str))):
            raise InvalidPattern(where, f"{op} takes a string or {{\"equals-ignore-case\": string}}")
    elif op in ("equals-ignore-case", "wildcard", "cidr") and not isinstance(arg, str):
        raise InvalidPattern(where, f"{op} takes a string")


def _check_numeric(arg: Any, where: str) -> None:
    ok = isinstance(arg, list) and len(arg) in (2, 4)
    if ok:
        for op, number in zip(arg[::2], arg[1::2], strict=True):
            ok = ok and op in _COMPARISONS and isinstance(number, int | float) and not isinstance(number, bool)
    if ok and len(arg) == 4:
        ok = arg[0] in (">", ">=") and arg[2] in ("<", "<=") and arg[1] < arg[3]
    if not ok:
        raise InvalidPattern(where, 'numeric takes [op, number] or a range [">"|">=", low, "<"|"<=", high]')


def _check_anything_but(arg: Any, where: str) -> None:
    if isinstance(arg, dict):
        if len(arg) != 1 or next(iter(arg)) not in _STRING_OPERATORS:
            raise InvalidPattern(where, f"anything-but takes a value, a list, or one of {', '.join(_STRING_OPERATORS)}")
        inner = next(iter(arg.values()))
        if not (isinstance(inner, str) or (isinstance(inner, list) and all(isinstance(v, str) for v in inner))):
            raise InvalidPattern(where, "anything-but's operator takes a string or a list of strings")
    elif isinstance(arg, list):
        if not arg or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in arg):
            raise InvalidPattern(where, "anything-but takes a list of strings or numbers")
    elif not isinstance(arg, str | int | float) or isinstance(arg, bool):
        raise InvalidPattern(where, "anything-but takes a string, a number, a list or an operator")
