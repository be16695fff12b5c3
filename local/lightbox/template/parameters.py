"""Parameter values as CloudFormation settles them: an override, else the Default; typed; constrained.

Two choices, both following AWS rather than SAM CLI: a Number is a number and a CommaDelimitedList a
list (SAM CLI passes the text through), and AllowedValues, AllowedPattern and the length and value
bounds are checked (SAM CLI checks none). A parameter with no value is only an error where it is
used, so CDK's asset parameters, which asset metadata makes unused, need no overrides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template.attributes import StackIdentity
from lightbox.template.model import Finding


@dataclass(frozen=True)
class Missing:
    """A parameter without a value: refused where a Ref to it is evaluated."""

    name: str
    reason: str

    def error(self) -> TemplateError:
        return TemplateError(f"Parameters.{self.name}", "", f"{self.reason}; pass --parameter-overrides "
                                                            f"{self.name}=VALUE (or set it in samconfig.toml)")


def pseudo_parameters(stack: StackIdentity) -> dict[str, Any]:
    """As AWS gives them (SAM CLI's AWS::URLSuffix is `localhost` and its AWS::StackId fixed; AWS's are not)."""
    return {
        "AWS::Region": stack.region, "AWS::AccountId": stack.account, "AWS::StackName": stack.name,
        "AWS::StackId": stack.stack_id, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }


def _number(name: str, text: Any) -> int | float:
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    try:
        return int(str(text).strip())
    except ValueError:
        pass
    try:
        return float(str(text).strip())
    except ValueError:
        raise TemplateError(f"Parameters.{name}", "", f"{text!r} is not a number (Type: Number)") from None


def _typed(name: str, kind: str, value: Any) -> Any:
    if kind == "Number":
        return _number(name, value)
    if kind == "CommaDelimitedList" or kind.startswith("List<"):
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        if kind == "List<Number>":
            return [str(_number(name, v)) for v in items]
        return [str(v) for v in items]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str | int | float) else str(value)


def _check(name: str, spec: Mapping[str, Any], value: Any) -> None:
    where = f"Parameters.{name}"
    items = value if isinstance(value, list) else [value]
    allowed = spec.get("AllowedValues")
    for item in items:
        text = str(item)
        if isinstance(allowed, list) and text not in [str(a) for a in allowed]:
            raise TemplateError(where, "", f"{text!r} is not one of its AllowedValues {allowed}")
        pattern = spec.get("AllowedPattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, text):
            raise TemplateError(where, "", f"{text!r} does not match its AllowedPattern {pattern!r}")
        if "MinLength" in spec and len(text) < int(spec["MinLength"]):
            raise TemplateError(where, "", f"{text!r} is shorter than its MinLength of {spec['MinLength']}")
        if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
            raise TemplateError(where, "", f"{text!r} is longer than its MaxLength of {spec['MaxLength']}")
        if isinstance(item, int | float) and not isinstance(item, bool):
            if "MinValue" in spec and item < float(spec["MinValue"]):
                raise TemplateError(where, "", f"{item} is below its MinValue of {spec['MinValue']}")
            if "MaxValue" in spec and item > float(spec["MaxValue"]):
                raise TemplateError(where, "", f"{item} is above its MaxValue of {spec['MaxValue']}")


def undeclared(declared: Mapping[str, Any], given: Mapping[str, Any], imports: set[str], source: str) -> list[Finding]:
    """AWS refuses a value for a parameter the template does not declare; SAM CLI takes it, and Refs to
    that name then resolve. Templates made for SAM CLI rely on it, so it is taken (parameter_values), and said."""
    return [Finding(f"Parameters.{name}", source, "", "the template does not declare it; AWS would refuse the value "
                    "at deploy (taken here, as SAM CLI takes it)", "warning")
            for name in sorted(set(given) - set(declared) - imports)]


def parameter_values(declared: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Each declared parameter's value (a Missing where it has none), typed and checked; a given value for
    a name the template does not declare is kept as it is (see undeclared)."""
    values: dict[str, Any] = {k: v for k, v in given.items() if k not in declared}
    for name, spec in declared.items():
        if not isinstance(spec, dict):
            raise TemplateError(f"Parameters.{name}", "", "must be a mapping with a Type")
        kind = str(spec.get("Type", "String"))
        if name in given:
            value: Any = given[name]
        elif kind.startswith("AWS::SSM::Parameter::Value<"):
            values[name] = Missing(name, f"is read from SSM Parameter Store ({spec.get('Default', 'no name')}) "
                                         "at deploy, which is not emulated")
            continue
        elif "Default" in spec:
            value = spec["Default"]
        else:
            values[name] = Missing(name, "has no value: no Default, and not given")
            continue
        if isinstance(value, dict):  # a parent passing an unresolvable intrinsic down to a child stack
            raise TemplateError(f"Parameters.{name}", "", f"cannot be given {value!r}")
        values[name] = _typed(name, kind, value)
        _check(name, spec, values[name])
    return values
