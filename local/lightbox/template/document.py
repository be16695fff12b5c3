"""Template files as CloudFormation reads them: JSON, or YAML with its short-form tags.

A syntax error is one line naming the file, line and column. Two CloudFormation rules are kept on
purpose: a mapping key given twice is refused (PyYAML would silently keep the last), and dates stay
strings (`AWSTemplateFormatVersion: 2010-09-09` unquoted is a string to CloudFormation, not a date).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lightbox.exceptions import TemplateError

_SHORT_TAGS = [
    "Ref", "Condition", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "And", "Or",
    "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Transform", "Length", "ToJsonString",
    "Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll",
]


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into `{"Ref": "X"}` and `!Sub s` into `{"Fn::Sub": s}`."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = str(self.construct_object(key_node, deep=True))
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (CloudFormation refuses a key given twice)",
                    key_node.start_mark)
            seen.add(key)
        mapping = super().construct_mapping(node, deep=deep)
        # JSON has only string keys, and so has CloudFormation: `200:` in an OpenAPI body is "200".
        return {k if isinstance(k, str) else _yaml_scalar_text(k): v for k, v in mapping.items()}


def _yaml_scalar_text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def _tag_constructor(tag: str) -> Callable[[yaml.SafeLoader, yaml.Node], dict[str, Any]]:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":  # `!GetAtt Child.Outputs.X` is ["Child", "Outputs.X"]: split on the first dot
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


def _unknown_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"unknown tag !{suffix} (CloudFormation's are !{', !'.join(_SHORT_TAGS[:17])} ...)",
        node.start_mark)


for _tag in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))
_CfnLoader.add_multi_constructor("!", _unknown_tag)
# Dates stay strings, as CloudFormation reads them.
_CfnLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} (CloudFormation refuses a key given twice)")
        out[key] = value
    return out


def parse_text(text: str, name: str) -> Any:
    """The document in `text` (JSON if it parses as JSON, else YAML); TemplateError with line and column."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"{name}:{exc.lineno}:{exc.colno}", "",
                                f"{exc.msg} (JSON syntax); fix the file and load it again") from None
        except ValueError as exc:
            raise TemplateError(name, "", str(exc)) from None
    try:
        return yaml.load(text, Loader=_CfnLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        problem = exc.problem or exc.context or "not valid YAML"
        raise TemplateError(where, "", f"{problem} (YAML syntax); fix the file and load it again") from None
    except yaml.YAMLError as exc:
        raise TemplateError(name, "", f"{exc} (YAML syntax)") from None


def read_document(path: Path, what: str = "template") -> Any:
    """A file's document; a missing or unreadable file is a TemplateError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(str(path), "", f"{what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(str(path), "", f"{what} cannot be read: {exc}") from None
    return parse_text(text, str(path))


def read_template(path: Path) -> dict[str, Any]:
    """A template file: a mapping of sections, with Resources a mapping of resources that each have a Type."""
    doc = read_document(path)
    name = str(path)
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {_kind(doc)}"
        raise TemplateError(name, "", f"is {kind}; a template is a mapping of sections (Resources, Parameters, ...)")
    for section in ("Resources", "Parameters", "Conditions", "Mappings", "Outputs", "Globals", "Metadata"):
        if section in doc and not isinstance(doc[section], dict):
            raise TemplateError(section, "", f"must be a mapping; got {describe(doc[section])} in {name}")
    resources = doc.get("Resources")
    if not resources:
        raise TemplateError(name, "", "defines no Resources; CloudFormation needs at least one")
    for logical_id, res in resources.items():
        if isinstance(logical_id, str) and logical_id.startswith("Fn::ForEach::"):
            continue  # expanded later (AWS::LanguageExtensions)
        if not isinstance(res, dict):
            raise TemplateError(logical_id, "", f"must be a mapping with Type and Properties; got {describe(res)}")
        if not isinstance(res.get("Type"), str):
            raise TemplateError(logical_id, "Type", f"must be a resource type string; got {describe(res.get('Type'))}")
        if "Properties" in res and not isinstance(res["Properties"], dict | type(None)):
            raise TemplateError(logical_id, "Properties", f"must be a mapping; got {describe(res['Properties'])}")
    return doc


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def describe(value: Any) -> str:
    """What a value is, for messages: "a string", "a list", "nothing"."""
    kind = _kind(value)
    return "nothing" if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"

