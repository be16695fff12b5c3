"""Where Lambda puts layers (`/opt`) and how each runtime finds what is in them, mapped onto the
layers' own folders: Lambda extracts layers in order into one `/opt`, so a later layer's file wins,
and here a later layer comes first on each search path."""

from __future__ import annotations

import os
from collections.abc import Mapping

from lightbox.template.model import Function


def search_path(fn: Function, *subdirs: str) -> list[str]:
    """Each existing `layer/subdir`, later layers first, for every subdir in order."""
    return [str(layer / sub) for sub in subdirs for layer in reversed(fn.layers) if (layer / sub).is_dir()]


def prepend(env: Mapping[str, str], name: str, entries: list[str]) -> dict[str, str]:
    """`env` with `entries` before what `name` already holds (nothing added when entries is empty)."""
    out = dict(env)
    if entries:
        out[name] = os.pathsep.join([*entries, *([env[name]] if env.get(name) else [])])
    return out


def native_paths(fn: Function, env: Mapping[str, str]) -> dict[str, str]:
    """Layers' `bin/` on PATH and `lib/` (with the code folder's `lib/`) on LD_LIBRARY_PATH, as on Lambda
    (/opt/bin, /opt/lib, /var/task/lib). Put first rather than last as Lambda does: this machine's /usr
    holds far more than Lambda's image, and a layer's tool must not lose to a local one of the same name."""
    libs = search_path(fn, "lib")
    if (fn.code_uri / "lib").is_dir():
        libs.append(str(fn.code_uri / "lib"))
    return prepend(prepend(env, "PATH", search_path(fn, "bin")), "LD_LIBRARY_PATH", libs)

