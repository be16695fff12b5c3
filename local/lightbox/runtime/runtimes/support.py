"""Which functions run here, and the lines `up` and `validate` print about the ones that do not (or
do, on another version than asked for)."""

from __future__ import annotations

from lightbox.runtime.runtimes import node, provided, python
from lightbox.template.model import Finding, Function, Template

KNOWN = (*python.VERSIONS, *node.VERSIONS, *provided.RUNTIMES)


def unsupported(fn: Function) -> str | None:
    """Why `fn` cannot run here (every invocation fails with this), or None."""
    if fn.package_type == "Image":
        return ("PackageType Image functions are not run (they need a container runtime); "
                "invocations fail")
    if fn.runtime.startswith("nodejs") and fn.runtime in node.VERSIONS and node.node() is None:
        return f"{fn.runtime} functions need `node` on PATH, which is not there; invocations fail"
    if fn.runtime in KNOWN:
        return None
    runs = "python3.9-3.13, nodejs18.x/20.x/22.x, provided, provided.al2, provided.al2023"
    return f"{fn.runtime or 'no Runtime'}: this runtime is not run here (runs: {runs}); invocations fail"


def sources(fn: Function) -> tuple[str, ...] | None:
    """The suffixes of the files whose change retires a function's environments (hot reload); None: any file
    (a custom runtime's bootstrap may be a binary or a script without a suffix)."""
    if fn.runtime in node.VERSIONS:
        return (".js", ".mjs", ".cjs", ".json")
    if fn.runtime in provided.RUNTIMES:
        return None
    return (".py",)


def mismatch(fn: Function) -> str | None:
    """The warning when `fn` runs, but on another language version than its Runtime asks for."""
    if fn.runtime in python.VERSIONS:
        return python.mismatch(fn)
    if fn.runtime in node.VERSIONS:
        return node.mismatch(fn)
    return None


def runtime_findings(template: Template) -> list[Finding]:
    """One line per function that will not run (not emulated), or whose bootstrap cannot start (warning)."""
    lines = []
    for fn in template.functions.values():
        kind = template.type_of(fn)
        if reason := unsupported(fn):
            lines.append(Finding(fn.name, kind, "Runtime" if fn.package_type != "Image" else "PackageType", reason))
        elif fn.runtime in provided.RUNTIMES and fn.handler_found and (problem := provided.problem(fn)):
            lines.append(Finding(fn.name, kind, "CodeUri", problem, kind="warning"))
    return lines


def version_warnings(template: Template) -> list[str]:
    """One warning line per function that runs on another language version than its Runtime names. Not a
    finding: it says what this machine has, not what the template asks for, so --strict does not refuse it."""
    return [f"lightbox: warning: {fn.name} ({template.type_of(fn)}): Runtime: {warning}"
            for fn in template.functions.values() if not unsupported(fn) and (warning := mismatch(fn))]
