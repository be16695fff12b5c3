"""samconfig.toml (or .yaml/.yml) as SAM CLI reads it: `[ENV.COMMAND.parameters]` over
`[ENV.global.parameters]`, ENV from --config-env (default `default`), the file next to the template
unless --config-file names one.

`lightbox up` reads the `local_start_api` table and `lightbox invoke` the `local_invoke` one, as
`sam local start-api` and `sam local invoke` do. Unlike SAM CLI, the `deploy` table's
parameter_overrides and stack_name are read too, under everything else: they are where `sam deploy
--guided` saves a project's parameters, and a template without them may not load at all.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from lightbox.exceptions import TemplateError

FILES = ("samconfig.toml", "samconfig.yaml", "samconfig.yml")
_FROM_DEPLOY = ("parameter_overrides", "stack_name")


def find(folder: Path, config_file: str | None) -> Path | None:
    if config_file:
        given = Path(config_file)
        for candidate in (given, folder / given):
            if candidate.is_file():
                return candidate
        raise TemplateError(config_file, "", "--config-file names no file")
    return next((folder / name for name in FILES if (folder / name).is_file()), None)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
        doc = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise TemplateError(str(path), "", f"cannot be read: {exc}") from None
    if not isinstance(doc, dict):
        raise TemplateError(str(path), "", "must be a table of environments ([default.local_start_api.parameters])")
    return doc


def settings(path: Path | None, env: str, command: str) -> dict[str, Any]:
    """The keys SAM CLI would give `command` (`local_start_api`) from the file, `_` in their names."""
    if path is None:
        return {}
    doc = _read(path)
    section = doc.get(env)
    if section is None:
        if env != "default":
            raise TemplateError(str(path), env, f"--config-env {env}: no such environment (found: "
                                                f"{', '.join(k for k in doc if isinstance(doc[k], dict))})")
        return {}
    if not isinstance(section, dict):
        raise TemplateError(str(path), env, "must be a table of commands")

    def params(name: str) -> dict[str, Any]:
        table = (section.get(name) or {}).get("parameters") if isinstance(section.get(name), dict) else None
        return table if isinstance(table, dict) else {}

    deploy = {k: v for k, v in params("deploy").items() if k in _FROM_DEPLOY}
    return {**deploy, **params("global"), **params(command)}
