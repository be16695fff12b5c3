"""Where Lambda puts layers (`/opt`) and how each runtime finds what is in them, mapped onto the
layers' own folders: Lambda extracts layers in order into one `/opt`, so a later layer's file wins,
and here a later layer comes first on each search path. (Layers' `bin/` and `lib/` on PATH and
LD_LIBRARY_PATH are the host's, for every runtime: environments/launch.py.)"""

from __future__ import annotations

import os
from collections.abc import Mapping

from lightbox.template.model import Function


def search_path(fn: Function, *subdirs: str) -> list[str]:
    """Each existing `layer/subdir`, later layers first, for every subdir in order."""
    return [str(layer / sub) for sub in subdirs for layer in reversed(fn.layers) if (layer / sub).is_dir()]


def node_major(runtime: str) -> str:
    """nodejs20.x -> 20"""
    return runtime.removeprefix("nodejs").removesuffix(".x")


def node_modules(fn: Function) -> list[str]:
    """Where Lambda's Node.js runtimes look in /opt: nodejs/nodeNN/node_modules, then nodejs/node_modules."""
    return search_path(fn, f"nodejs/node{node_major(fn.runtime)}/node_modules", "nodejs/node_modules")


def task_libraries(fn: Function, env: Mapping[str, str]) -> dict[str, str]:
    """The code folder's `lib/` on LD_LIBRARY_PATH, as Lambda has /var/task/lib (for a custom runtime's
    shared libraries, or a Node.js addon's), before what `env` already holds."""
    lib = fn.code_uri / "lib"
    if not lib.is_dir():
        return {}
    return {"LD_LIBRARY_PATH": os.pathsep.join([str(lib), *filter(None, [env.get("LD_LIBRARY_PATH")])])}
