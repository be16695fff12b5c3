"""nodejs18.x / 20.x / 22.x: `node` on PATH running `node_bootstrap.cjs` (shipped with the package),
which speaks the Runtime API and loads the handler as Lambda's Node.js runtime does."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from lightbox.runtime.runtimes import node_sdk
from lightbox.runtime.runtimes.layers import node_major, node_modules
from lightbox.template.model import Function

VERSIONS = ("nodejs18.x", "nodejs20.x", "nodejs22.x")


def bootstrap() -> Path:
    return Path(str(resources.files("lightbox.runtime.runtimes") / "node_bootstrap.cjs"))


@functools.cache
def node_version(node: str) -> str | None:
    """`node --version` without the v (20.11.1), or None when it does not run."""
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    found = re.fullmatch(r"v(\d+\.\d+\.\d+)", done.stdout.strip())
    return found.group(1) if done.returncode == 0 and found else None


def node() -> str | None:
    """The `node` that runs Node.js functions: the one on PATH, if it runs."""
    found = shutil.which("node")
    return found if found and node_version(found) else None


def mismatch(fn: Function) -> str | None:
    """A warning when the `node` on PATH is another major version than the template's runtime."""
    exe = node()
    version = node_version(exe) if exe else None
    if version is None or version.split(".")[0] == node_major(fn.runtime):
        return None
    return f"runs on node v{version} (the `node` on PATH), not {fn.runtime}"


def node_path(fn: Function) -> list[str]:
    """NODE_PATH as Lambda sets it (/opt/nodejs/nodeNN/node_modules, /opt/nodejs/node_modules,
    /var/runtime/node_modules, /var/task) with each layer's folders for /opt and the SDK cache (node_sdk.py)
    for the runtime's."""
    # /var/runtime/node_modules: only for a function that needs it (the bootstrap hooks ES module
    # resolution when NODE_PATH holds more than its own folder, and that costs a loader thread).
    runtime_sdk = [str(node_sdk.modules_dir())] if node_sdk.uses_runtime_sdk(fn) else []
    return [*node_modules(fn),
            *runtime_sdk, str(fn.code_uri)]


def command() -> list[str]:
    exe = node()
    if exe is None:
        raise FileNotFoundError("node is not on PATH")
    return [exe, str(bootstrap())]
