"""--parameter-overrides in every form SAM CLI takes them (flags, samconfig.toml, files, the
environment), as the strings CloudFormation parameters hold."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from lightbox.exceptions import LightboxError


def parse_parameter_overrides(value: object, base: Path | None = None) -> dict[str, str]:
    """Both of SAM's forms, `Key=Value Key2="a value"` and `ParameterKey=Key,ParameterValue=Value`,
    quoted as a shell quotes; a list of such strings; a mapping; or `file://values.json|yaml` (a
    mapping, a list of `Key=Value`, or CloudFormation's [{ParameterKey, ParameterValue}])."""
    if isinstance(value, dict):
        return {str(k): env_text(v) for k, v in value.items()}
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if isinstance(item, dict) and "ParameterKey" in item:
                out[str(item["ParameterKey"])] = env_text(item.get("ParameterValue"))
            else:
                out.update(parse_parameter_overrides(item, base))
        return out
    try:
        tokens = shlex.split(str(value))
    except ValueError as exc:
        raise LightboxError(f"--parameter-overrides {value!r}: {exc}") from None
    out = {}
    for token in tokens:
        if token.startswith("file://"):
            out.update(_overrides_file(Path(token.removeprefix("file://")), base))
            continue
        if token.startswith("ParameterKey="):
            key, sep, val = token.removeprefix("ParameterKey=").partition(",ParameterValue=")
        else:
            key, sep, val = token.partition("=")
        if not sep or not key:
            raise LightboxError(f"--parameter-overrides {token!r}: expected Name=Value or "
                                "ParameterKey=Name,ParameterValue=Value")
        out[key] = val
    return out


def env_text(value: object) -> str:
    """A value given in a file (JSON, YAML) as the text a parameter or variable holds."""
    return json.dumps(value) if isinstance(value, bool) else "" if value is None else str(value)


def _overrides_file(path: Path, base: Path | None) -> dict[str, str]:
    import yaml

    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LightboxError(f"--parameter-overrides file://{path}: {exc}") from None
    return parse_parameter_overrides(doc if isinstance(doc, dict | list) else str(doc or ""), path.parent)
