"""CloudFormation YAML tags and the intrinsic functions the local wiring needs.

Only what changes local behaviour is resolved (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
`Fn::Select`); any other intrinsic is an error that names where it was found, because
guessing its value would run the app with wiring it does not have on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from lightbox.exceptions import TemplateError

_SHORT_TAGS = [
    "Ref", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
    "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Condition", "Transform",
]


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into `{"Ref": "X"}` and `!Sub s` into `{"Fn::Sub": s}`."""


def _tag_constructor(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":  # `!GetAtt Queue.Arn` is shorthand for ["Queue", "Arn"]
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _tag in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_CfnLoader)


NO_VALUE = object()  # AWS::NoValue: the property is dropped, as CloudFormation does
_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


class Resolver:
    """Resolves intrinsics against parameters, pseudo parameters and resource attributes."""

    def __init__(
        self,
        values: Mapping[str, Any],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
    ) -> None:
        self._values = values  # parameters and pseudo parameters by name
        self._ref = ref
        self._get_att = get_att

    def resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [r for v in value if (r := self.resolve(v, where)) is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._resolve_ref(str(arg), where)
            if key.startswith("Fn::"):
                return self._resolve_fn(key, arg, where)
        return {k: r for k, v in value.items() if (r := self.resolve(v, f"{where}.{k}")) is not NO_VALUE}

    def _resolve_ref(self, name: str, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._values:
            return self._values[name]
        return self._ref(name)

    def _resolve_fn(self, key: str, arg: Any, where: str) -> Any:
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
            return self._get_att(str(parts[0]), str(parts[1]))
        if key == "Fn::Sub":
            if isinstance(arg, list):
                text, extra = arg[0], {k: self.resolve(v, where) for k, v in arg[1].items()}
            else:
                text, extra = arg, {}
            return self._sub(str(text), extra)
        if key == "Fn::Join":
            sep, items = arg
            return str(sep).join(str(v) for v in self.resolve(items, where))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items, where)[int(self.resolve(index, where))]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text, where)).split(sep)
        raise TemplateError(where.split(".", 1)[0], where.split(".", 1)[-1],
                            f"intrinsic {key} is not supported locally (supported: Ref, Fn::GetAtt, "
                            "Fn::Sub, Fn::Join, Fn::Select, Fn::Split)")

    def _sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                resource, attr = name.split(".", 1)
                return str(self._get_att(resource, attr))
            return str(self._resolve_ref(name, "Fn::Sub"))

        # `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
        return _SUB_VAR.sub(replace, text).replace("${!", "${")
