"""python3.9 .. python3.13: the interpreter a Python function's environment runs on.

The template's version when this machine has it (the Python running lightbox when it is that version,
else a `python3.X` on PATH that runs and can import what the Python runtime needs), else the Python
running lightbox, with one warning line naming the function and the mismatch."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

from lightbox import config
from lightbox.template.model import Function

VERSIONS = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")
# What an interpreter needs to run a Python environment (the runtime interface client, and boto3,
# which Lambda's Python runtimes include): one without them would fail every invocation.
NEEDS: tuple[str, ...] = ("boto3",)


def own_version() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


@functools.cache
def _probe(exe: str, version: str, needs: tuple[str, ...]) -> str | None:
    """None when `exe` is `version` and imports `needs`; else what is wrong with it."""
    check = f"import sys; print('python%d.%d' % sys.version_info[:2]); import {', '.join(needs or ('sys',))}"
    try:
        done = subprocess.run([exe, "-c", check], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe} does not run ({exc})"
    said = done.stdout.strip()
    if done.returncode != 0 and not said:  # a pyenv shim for a version it does not select, say
        return f"{exe} does not run"
    if said != version:
        return f"{exe} is {said}"
    if done.returncode != 0:
        return f"{exe} cannot import {', '.join(needs)}"
    return None


@functools.cache
def interpreter(version: str, needs: tuple[str, ...] = NEEDS) -> tuple[str, str | None]:
    """(the interpreter for `version`, None) or (the Python running lightbox, why it is not `version`)."""
    if version == own_version():
        return sys.executable, None
    found = shutil.which(version)
    why = f"no {version} on PATH" if found is None else _probe(found, version, needs)
    if why is None and found is not None:
        return found, None
    return sys.executable, why


def needs(client: str) -> tuple[str, ...]:
    """What the interpreter must import for this runtime interface client (LIGHTBOX_PYTHON_RIC)."""
    return (*NEEDS, "awslambdaric") if client == "awslambdaric" else NEEDS


def mismatch(fn: Function) -> str | None:
    """The warning line's text when `fn` runs on another Python than its runtime asks for."""
    _, why = interpreter(fn.runtime, needs(config.python_ric()))
    if why is None:
        return None
    return f"runs on {own_version()} (the Python running lightbox), not {fn.runtime}: {why}"
