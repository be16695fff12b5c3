"""How an execution environment of each runtime starts: the command, and the variables only it needs.

A runtime is found by the longest registered prefix of the function's `Runtime` ("python3" runs
python3.9 .. python3.13). Other runtimes (Node.js, provided.*) register here with `register()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lightbox.runtime.runtimes import python
from lightbox.template.model import Function

PYTHON_BOOTSTRAP = Path(__file__).parent / "python" / "bootstrap.py"
# LIGHTBOX_PYTHON_RIC=awslambdaric runs AWS's runtime interface client instead of ours (lightbox.config).
AWSLAMBDARIC = "awslambdaric"


@dataclass
class Launch:
    """The process of one environment: argv, and variables added to Lambda's own."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


Launcher = Callable[[Function, str], Launch]  # (function, runtime interface client setting) -> Launch
_LAUNCHERS: dict[str, Launcher] = {}


def register(prefix: str, launcher: Launcher) -> None:
    _LAUNCHERS[prefix] = launcher


def launcher_for(fn: Function) -> Launcher | None:
    found = [p for p in _LAUNCHERS if fn.runtime.startswith(p)]
    return _LAUNCHERS[max(found, key=len)] if found else None


def python_launch(fn: Function, client: str) -> Launch:
    paths = [str(layer / "python") for layer in fn.layers if (layer / "python").is_dir()]
    env = {"PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1",
           "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}"}
    exe, _ = python.interpreter(fn.runtime, python.needs(client))  # the runtime's version, where this machine has it
    if client == AWSLAMBDARIC:
        return Launch([exe, "-m", "awslambdaric", fn.handler], env)
    return Launch([exe, str(PYTHON_BOOTSTRAP)], env)


register("python3", python_launch)
