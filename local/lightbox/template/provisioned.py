"""The real `Ref` and `Fn::GetAtt` values of the resources `lightbox up` created on the embedded
services (a stream's ARN carries its creation time, a secret's ARN a random suffix), kept in the
data dir so every process that loads the template (the worker, `lightbox invoke`) sees the same.

Written by lightbox/cloudformation after it provisions; read by the loader. Keyed by the resource's
Child/LogicalId, with its type: an entry whose type no longer matches the template is not used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FOLDER = "cloud"  # under the data dir: the embedded moto server's state and these values
FILE = "attributes.json"


def path(data_dir: Path) -> Path:
    return data_dir / FOLDER / FILE


def read(data_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        values = json.loads(path(data_dir).read_text())
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def write(data_dir: Path, values: Mapping[str, Mapping[str, Any]]) -> None:
    target = path(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=1, sort_keys=True))
    os.replace(tmp, target)


def of_stack(values: Mapping[str, Mapping[str, Any]], stack_path: str,
             types: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """One stack's entries by logical id, those whose type is still the template's."""
    prefix = f"{stack_path}/" if stack_path else ""
    out = {}
    for name, attrs in values.items():
        logical_id = name.removeprefix(prefix)
        if name.startswith(prefix) and "/" not in logical_id and types.get(logical_id) == attrs.get("Type"):
            out[logical_id] = dict(attrs)
    return out
