"""How a command's flags, samconfig.toml and the environment become its Settings."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from lightbox import config
from lightbox import overrides as overrides_
from lightbox.config import Settings
from lightbox.template import samconfig
from lightbox.template.loader import pick_template


def command_settings(args: argparse.Namespace, command: str = "local_start_api", announce: bool = False,
                     **extra: Any) -> Settings:
    """Flags > samconfig.toml's `command` table (`local_start_api`) > environment > defaults; the template
    as SAM CLI picks it (after `sam build`, its output). `announce` prints why another file was picked."""
    named = getattr(args, "template", None) or os.environ.get(config.ENV_VARS["template"])
    folder = Path(named).parent if named else Path.cwd()
    found = samconfig.find(folder, getattr(args, "config_file", None))
    sam = samconfig.settings(found, getattr(args, "config_env", None) or "default", command)
    home = found.parent if found else folder  # paths in samconfig.toml are relative to it
    from_sam = sam.get("template_file") or sam.get("template")
    named = named or (str(home / from_sam) if from_sam else None)
    template, note = pick_template(Path(named or "template.yaml"), given=bool(named))
    if note and announce:
        print(f"lightbox: {note}")
    overrides = overrides_.parse_parameter_overrides(sam.get("parameter_overrides") or {}, folder)
    overrides.update(config.parameter_overrides(getattr(args, "parameter_overrides", None)))
    given = {k: getattr(args, k, None) for k in ("host", "port", "workers", "redis_url", "s3_endpoint",
                                                 "webhook_token", "bucket_events", "env_vars",
                                                 "disable_authorizer", "jwks", "aws_passthrough", "debug")}
    given["env_vars"] = given["env_vars"] or (home / sam["env_vars"] if sam.get("env_vars") else None)
    given["disable_authorizer"] = given["disable_authorizer"] or sam.get("disable_authorizer") or None
    return Settings.load(template=template, parameter_overrides=overrides, stack_name=sam.get("stack_name"),
                         strict=getattr(args, "strict", None) or None,
                         warm=getattr(args, "warm", None) or None, **given, **extra)
