"""The AWS SDK for JavaScript v3, which Lambda's Node.js runtimes include (/var/runtime/node_modules):
a function imports `@aws-sdk/client-s3` without bundling it, and on Lambda that works.

Here the `@aws-sdk/*` packages a Node.js function's code imports and does not bring itself (in a
`node_modules` of its folder or above, or a layer's) are installed once with npm into a cache every
project shares (`~/.cache/lightbox/nodejs-aws-sdk`, or LIGHTBOX_NODE_SDK_DIR). That folder's
node_modules goes on the function's NODE_PATH where Lambda has its runtime's; the Node.js bootstrap
resolves ES module imports from NODE_PATH too, as Lambda's runtime does for its SDK and layers."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from lightbox.runtime.runtimes.layers import node_modules
from lightbox.template.model import Function

CACHE_VAR = "LIGHTBOX_NODE_SDK_DIR"
NPM_TIMEOUT_SECONDS = 600
SCANNED = (".js", ".mjs", ".cjs")
MAX_SCANNED_BYTES = 2_000_000  # a bundle this big brings its own SDK
# import ... from '@aws-sdk/x', import '@aws-sdk/x', import('@aws-sdk/x'), require('@aws-sdk/x/sub')
_IMPORT = re.compile(r"""(?:\bfrom|\bimport|\brequire\s*\(|\bimport\s*\()\s*['"](@aws-sdk/[a-z0-9.-]+)""")


def cache_dir() -> Path:
    given = os.environ.get(CACHE_VAR)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lightbox" / "nodejs-aws-sdk"


def modules_dir() -> Path:
    return cache_dir() / "node_modules"


def _code_files(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "node_modules" and not d.startswith(".")]
        for name in files:
            if name.endswith(SCANNED):
                yield Path(root) / name


def imported(fn: Function) -> set[str]:
    """The `@aws-sdk/*` packages the function's own code imports."""
    found: set[str] = set()
    if not fn.code_uri.is_dir():
        return found
    for path in _code_files(fn.code_uri):
        try:
            if path.stat().st_size <= MAX_SCANNED_BYTES:
                found.update(_IMPORT.findall(path.read_text(errors="replace")))
        except OSError:
            continue
    return found


def brought(fn: Function, package: str) -> bool:
    """Whether the function resolves `package` without the runtime's SDK: its folder's node_modules or a
    parent's (Node's own lookup), or a layer's nodejs/node_modules."""
    folders = [fn.code_uri, *fn.code_uri.resolve().parents]
    return any((d / "node_modules" / package).is_dir() for d in folders) or \
        any((Path(d) / package).is_dir() for d in node_modules(fn))


def uses_runtime_sdk(fn: Function) -> bool:
    """Whether the function imports an SDK package it does not bring, which the cache holds."""
    return any(not brought(fn, p) and (modules_dir() / p).is_dir() for p in imported(fn))


def missing(functions: Iterable[Function]) -> list[str]:
    """The SDK packages these functions import, bring not themselves, and the cache does not hold yet."""
    wanted: set[str] = set()
    for fn in functions:
        if fn.runtime.startswith("nodejs") and fn.package_type == "Zip":
            wanted.update(p for p in imported(fn) if not brought(fn, p))
    return sorted(p for p in wanted if not (modules_dir() / p).is_dir())


def install(packages: list[str]) -> str | None:
    """npm install them into the cache (one installer at a time across processes); why not, or None."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another `lightbox up` may be installing into the same cache
        todo = [p for p in packages if not (modules_dir() / p).is_dir()]
        if not todo:
            return None
        # Saved in the cache's package.json: npm removes what a later install does not list.
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder),
                                   *todo], capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"npm install failed ({exc})"
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.strip()]
        return f"npm install failed: {said[-1] if said else f'exit status {done.returncode}'}"
    return None


def ensure(functions: Iterable[Function]) -> list[str]:
    """Install what is missing; the lines to print (none when nothing was needed)."""
    todo = missing(functions)
    if not todo:
        return []
    print(f"lightbox: installing the AWS SDK packages Lambda's Node.js runtime includes ({', '.join(todo)}) "
          f"into {cache_dir()}, once", file=sys.stderr, flush=True)
    problem = install(todo)
    if problem is None:
        return []
    return [f"lightbox: warning: {', '.join(todo)}: not installed ({problem}); Node.js functions importing them fail "
            "with Runtime.ImportModuleError until they are in the function's node_modules"]
