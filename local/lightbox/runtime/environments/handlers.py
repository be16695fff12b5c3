"""A Python handler checked without running its code: `lightbox up` refuses a Handler that names
nothing in its file (a typo a person fixes at once), while an import that fails at run time fails
only that function's invocations, in its environment, as on Lambda."""

from __future__ import annotations

import ast
from pathlib import Path

from lightbox.exceptions import HandlerNotFound
from lightbox.template.model import Function


def handler_file(fn: Function) -> Path | None:
    module_path = fn.handler.rpartition(".")[0].replace(".", "/")
    for file in (fn.code_uri / f"{module_path}.py", fn.code_uri / module_path / "__init__.py"):
        if file.is_file():
            return file
    return None


def _top_level_names(tree: ast.Module) -> tuple[set[str], list[str]]:
    names: set[str] = set()
    functions: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if not node.name.startswith("_"):
                functions.append(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names, functions


def check_python_handler(fn: Function) -> None:
    """HandlerNotFound when the handler's file defines nothing by that name at its top level; files
    that cannot be parsed, or define names dynamically, are left to the runtime to report."""
    if not fn.runtime.startswith("python") or not fn.handler_found:
        return
    file = handler_file(fn)
    if file is None:
        return
    try:
        tree = ast.parse(file.read_bytes(), str(file))
    except (SyntaxError, ValueError, OSError):
        return
    if any(not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign |
                          ast.AugAssign | ast.Import | ast.ImportFrom | ast.Expr) for n in tree.body):
        return
    names, functions = _top_level_names(tree)
    attr = fn.handler.rpartition(".")[2]
    if attr not in names and "__getattr__" not in names and not any(isinstance(n, ast.ImportFrom) and
                                                                    any(a.name == "*" for a in n.names)
                                                                    for n in tree.body):
        raise HandlerNotFound(f"{fn.name}: Handler {fn.handler} names no function in {file} "
                              f"(callables found: {sorted(functions)})")
