"""provided / provided.al2 / provided.al2023: the function's own `bootstrap` executable from its code
folder, as Go and Rust functions (and any custom runtime) run on Lambda."""

from __future__ import annotations

import os
from pathlib import Path

from lightbox.template.model import Function

RUNTIMES = ("provided", "provided.al2", "provided.al2023")


def bootstrap(fn: Function) -> Path:
    return fn.code_uri / "bootstrap"


def problem(fn: Function) -> str | None:
    """Why the bootstrap cannot start, in Lambda's words where it has them (Runtime.InvalidEntrypoint)."""
    path = bootstrap(fn)
    if not path.is_file():
        return f"no bootstrap file in {fn.code_uri}; invocations fail with Runtime.InvalidEntrypoint, as on Lambda"
    if not os.access(path, os.X_OK):
        return (f"{path} is not executable (chmod +x it); invocations fail with Runtime.InvalidEntrypoint, "
                "as on Lambda")
    return None


def command(fn: Function) -> list[str]:
    return [str(bootstrap(fn))]
