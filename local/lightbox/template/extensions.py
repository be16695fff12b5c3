"""The transforms CloudFormation runs before the SAM transform: `AWS::Include` and
`AWS::LanguageExtensions` (`Fn::ForEach`; `Fn::Length`, `Fn::ToJsonString` and FindInMap's
DefaultValue are evaluated later, with the other intrinsics).

Both run always (SAM CLI needs a flag for ForEach) and follow AWS: an include's Location is read
relative to the including template's folder (SAM CLI reads it from the working directory), and
ForEach replaces `${Id}` and `&{Id}` in keys and in every string of the fragment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template.document import describe, read_document
from lightbox.template.intrinsics import sub_variables
from lightbox.template.parameters import Missing

FOREACH = "Fn::ForEach::"
_MAX_DEPTH = 5  # AWS allows five nested loops


def transforms(doc: Mapping[str, Any]) -> list[str]:
    value = doc.get("Transform")
    items = value if isinstance(value, list) else [value] if value else []
    return [t if isinstance(t, str) else str(t.get("Name")) if isinstance(t, dict) else str(t) for t in items]


def is_local(location: Any) -> bool:
    """A path on this machine (or a file:// URL), not s3:// or https://."""
    if not isinstance(location, str) or not location:
        return False
    return location.startswith("file://") or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location)


def local_path(base: Path, location: str) -> Path:
    return (base / location.removeprefix("file://")).resolve()


def import_names(node: Any) -> set[str]:
    """The literal names a template's Fn::ImportValue ask for (a given value for one is not a parameter)."""
    if isinstance(node, dict):
        found = {node["Fn::ImportValue"]} if isinstance(node.get("Fn::ImportValue"), str) else set()
        return found.union(*(import_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(import_names(v) for v in node))
    return set()


def expand_includes(node: Any, base: Path, files: list[Path], where: str = "") -> Any:
    """Every `Fn::Transform: {Name: AWS::Include, Parameters: {Location: FILE}}` replaced by FILE's content."""
    if isinstance(node, list):
        return [expand_includes(v, base, files, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    transform = node.get("Fn::Transform")
    if len(node) == 1 and isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
        location = (transform.get("Parameters") or {}).get("Location")
        resource, prop = _place(where)
        if not is_local(location):
            raise TemplateError(resource or "Transform", prop or "AWS::Include",
                                f"Location {location!r} is not a local file; AWS::Include is read from a path "
                                "relative to the template (s3:// locations are not fetched)")
        path = local_path(base, str(location))
        if not path.is_file():
            raise TemplateError(resource or "Transform", prop or "AWS::Include",
                                f"AWS::Include Location {location}: no such file ({path})")
        files.append(path)
        return expand_includes(read_document(path, "AWS::Include file"), path.parent, files, where)
    return {k: expand_includes(v, base, files, f"{where}.{k}") for k, v in node.items()}


def _place(where: str) -> tuple[str, str]:
    """`.Resources.Api.Properties.DefinitionBody` -> (Api, DefinitionBody), for messages."""
    parts = where.lstrip(".").split(".")
    if parts[0] == "Resources" and len(parts) > 1:
        rest = parts[3:] if len(parts) > 2 and parts[2] == "Properties" else parts[2:]
        return parts[1], ".".join(rest)
    return parts[0], ".".join(parts[1:])


def _collection(spec: Any, params: Mapping[str, Any], where: str) -> list[str]:
    if isinstance(spec, dict) and set(spec) == {"Ref"}:
        value = params.get(str(spec["Ref"]))
        if isinstance(value, Missing):
            raise value.error()
        if value is None:
            raise TemplateError(where, "", f"the collection Ref {spec['Ref']} names no parameter")
        spec = value
    if isinstance(spec, str):
        spec = [s.strip() for s in spec.split(",")]
    if not isinstance(spec, list) or not all(isinstance(s, str | int | float) for s in spec):
        raise TemplateError(where, "", "the collection must be a list of strings or a Ref to a "
                                       f"CommaDelimitedList parameter; got {describe(spec)}")
    return [str(s) for s in spec]


def _substitute(node: Any, ident: str, value: str) -> Any:
    if isinstance(node, str):
        return node.replace("${" + ident + "}", value).replace("&{" + ident + "}", re.sub(r"[^A-Za-z0-9]", "", value))
    if isinstance(node, list):
        return [_substitute(v, ident, value) for v in node]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": ident}:
        return value
    out = {_substitute(k, ident, value): _substitute(v, ident, value) for k, v in node.items()}
    sub = out.get("Fn::Sub")
    if len(out) == 1 and isinstance(sub, str) and not sub_variables(sub):
        return sub.replace("${!", "${")  # nothing left to substitute: the SAM transform wants a plain string
    return out


def _expand(node: Any, params: Mapping[str, Any], where: str, depth: int = 0) -> Any:
    if isinstance(node, list):
        return [_expand(v, params, where, depth) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not (isinstance(key, str) and key.startswith(FOREACH)):
            out[key] = _expand(value, params, f"{where}.{key}", depth)
            continue
        here = f"{where}.{key}".lstrip(".")
        if depth >= _MAX_DEPTH:
            raise TemplateError(here, "", f"Fn::ForEach loops nest at most {_MAX_DEPTH} deep")
        if not isinstance(value, list) or len(value) != 3 or not isinstance(value[0], str) \
                or not isinstance(value[2], dict):
            raise TemplateError(here, "", "takes [Identifier, Collection, {OutputKey: OutputValue}]")
        ident, collection, fragment = value
        for item in _collection(collection, params, here):
            expanded = _expand(_substitute(fragment, ident, item), params, where, depth + 1)
            for new_key, new_value in expanded.items():
                if new_key in out or new_key in node:
                    raise TemplateError(here, "", f"makes {new_key!r}, which already exists")
                out[new_key] = new_value
    return out


def expand_language_extensions(doc: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Fn::ForEach in Conditions, Resources (and their properties) and Outputs; intrinsic
    DeletionPolicy/UpdateReplacePolicy dropped (they change nothing locally and the SAM transform refuses them)."""
    uses = "Fn::ForEach::" in repr(doc)
    if uses and "AWS::LanguageExtensions" not in transforms(doc):
        raise TemplateError("Transform", "", "Fn::ForEach needs `Transform: AWS::LanguageExtensions` (before "
                                             "AWS::Serverless-2016-10-31), as CloudFormation requires")
    out = dict(doc)
    for section in ("Conditions", "Resources", "Outputs"):
        if isinstance(out.get(section), dict):
            out[section] = _expand(out[section], params, section)
    for res in (out.get("Resources") or {}).values():
        if isinstance(res, dict):
            for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
                if isinstance(res.get(attr), dict):
                    del res[attr]
    return out
