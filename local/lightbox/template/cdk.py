"""CDK output as `cdk synth` writes it: asset metadata, construct ids, and `cdk.out` folders.

A CDK template points its code at an S3 asset (`Code: {S3Bucket: cdk-...-assets, S3Key: HASH.zip}`, or
in CDK v1 at asset parameters that have no Default) and says where the asset lies locally in the
resource's Metadata (`aws:asset:path`, `aws:asset:property`). As SAM CLI does, the property is
replaced by that local path before anything else reads the template, so the S3 location and its
parameters are never evaluated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightbox.exceptions import TemplateError


def rewrite_assets(doc: dict[str, Any]) -> None:
    """Each resource's `aws:asset:property` (dotted: `Code.ImageUri`) becomes its `aws:asset:path`."""
    for res in (doc.get("Resources") or {}).values():
        if not isinstance(res, dict):
            continue
        meta = res.get("Metadata")
        if not isinstance(meta, dict):
            continue
        path, prop = meta.get("aws:asset:path"), meta.get("aws:asset:property")
        if not isinstance(path, str) or not isinstance(prop, str):
            continue
        props = res.setdefault("Properties", {})
        if not isinstance(props, dict):
            continue
        *parents, last = prop.split(".")
        target = props
        for part in parents:
            target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else {}
        target[last] = path


def construct_id(logical_id: str, metadata: Any) -> str:
    """The name SAM CLI gives a CDK resource: its construct id when the CDK path is short
    (`Stack/Api/Resource` -> `Api`; `Stack/Workers.NestedStack/Workers.NestedStackResource` -> `Workers`),
    else the logical id, which is unique."""
    path = metadata.get("aws:cdk:path") if isinstance(metadata, dict) else None
    if not isinstance(path, str):
        return logical_id
    parts = path.split("/")
    if len(parts) == 3 and parts[2].endswith(".NestedStackResource"):
        return parts[1].removesuffix(".NestedStack")
    if (len(parts) == 3 and parts[2] == "Resource") or len(parts) == 2:
        return parts[1]
    return logical_id


def is_cdk(doc: dict[str, Any]) -> bool:
    resources = doc.get("Resources") or {}
    return any(isinstance(r, dict) and (r.get("Type") == "AWS::CDK::Metadata" or
                                        (isinstance(r.get("Metadata"), dict) and "aws:cdk:path" in r["Metadata"]))
               for r in resources.values())


def manifest_stacks(folder: Path) -> list[tuple[str, Path]]:
    """The stacks of a `cdk.out` folder (manifest.json), dependencies first: (stack name, template file)."""
    manifest = folder / "manifest.json"
    try:
        artifacts = json.loads(manifest.read_text())["artifacts"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TemplateError(str(manifest), "", f"is not a cdk.out manifest ({exc}); run `cdk synth` first") from None
    stacks = {name: a for name, a in artifacts.items()
              if isinstance(a, dict) and a.get("type") == "aws:cloudformation:stack"}
    ordered: list[str] = []

    def visit(name: str, seen: frozenset[str] = frozenset()) -> None:
        if name in ordered or name in seen:
            return
        for dep in stacks[name].get("dependencies") or []:
            if dep in stacks:
                visit(dep, seen | {name})
        ordered.append(name)

    for name in sorted(stacks):
        visit(name)
    out = []
    for name in ordered:
        file = (stacks[name].get("properties") or {}).get("templateFile")
        if isinstance(file, str):
            out.append((str(stacks[name].get("displayName") or name).split("/")[-1], folder / file))
    if not out:
        raise TemplateError(str(manifest), "", "names no CloudFormation stack; run `cdk synth` first")
    return out
