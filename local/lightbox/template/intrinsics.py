"""The pure parts of CloudFormation's intrinsic functions: text forms, Fn::Sub's variables, Fn::GetAZs,
Fn::Cidr, Fn::Base64. The evaluator (evaluate.py) calls these once their arguments are resolved."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

# Fn::GetAZs gives the account's zones; these are the ones every account sees in the common regions.
_ZONES = {"us-east-1": "abcdef", "us-west-2": "abcd", "ap-northeast-1": "acd", "ap-northeast-2": "abcd"}


class NoValue:
    """AWS::NoValue: the property (or list item) it stands for is removed, as CloudFormation does."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = NoValue()


def text(value: Any) -> str:
    """A resolved value as CloudFormation puts it in a string (Fn::Sub, Fn::Join, environment variables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):  # a CommaDelimitedList parameter
        return ",".join(text(v) for v in value)
    raise TypeError(f"is {'a mapping' if isinstance(value, dict) else type(value).__name__}, not a string")


def substitute(template: str, lookup: Callable[[str], Any]) -> str:
    """Fn::Sub: `${Name}` is looked up; `${!Literal}` is CloudFormation's escape for the text `${Literal}`."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        return text(lookup(name.strip()))

    return SUB_VARIABLE.sub(replace, template)


def sub_variables(template: str) -> list[str]:
    """The names Fn::Sub would look up in `template` (escaped ones left out)."""
    return [m.strip() for m in SUB_VARIABLE.findall(template) if not m.startswith("!")]


def availability_zones(region: str) -> list[str]:
    return [f"{region}{z}" for z in _ZONES.get(region, "abc")]


def cidr(block: str, count: int, bits: int) -> list[str]:
    """Fn::Cidr: the first `count` subnets of `block` with `bits` host bits each."""
    network = ipaddress.ip_network(block, strict=False)
    prefix = network.max_prefixlen - bits
    if prefix < network.prefixlen or count < 1:
        raise ValueError(f"cannot cut {count} subnets of {bits} host bits from {block}")
    subnets = []
    for i, subnet in enumerate(network.subnets(new_prefix=prefix)):
        if i == count:
            break
        subnets.append(str(subnet))
    if len(subnets) < count:
        raise ValueError(f"{block} holds only {len(subnets)} subnets of {bits} host bits, not {count}")
    return subnets


def base64_text(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def json_text(value: Any) -> str:
    """Fn::ToJsonString: compact JSON, as the AWS::LanguageExtensions transform writes it."""
    return json.dumps(value, separators=(",", ":"))
