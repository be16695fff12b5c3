"""How the `lightbox` fixture runs handlers: in the test's own process (default: fast, breakpoints
work) or in execution environments exactly as `lightbox up` runs them (`--lightbox-isolation=process`
or `@pytest.mark.lightbox_isolation("process")`).

In-process, every function shares one `sys.modules`: two code folders that each hold a top-level
`helper.py` would run one function with the other's module. That case is refused, naming the module
and the way to run the test with environments, rather than run the wrong code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox.runtime.environments.environment import Environment
from lightbox.runtime.environments.runtime import ProcessRuntime
from lightbox.runtime.invoke import Invocation
from lightbox.template.model import Function, Template
from lightbox.testing.recording import InvocationRecord

ISOLATIONS = ("thread", "process")
HOW = ('run it with --lightbox-isolation=process, or mark the test @pytest.mark.lightbox_isolation("process"), '
       "to run each function in its own process as `lightbox up` does")


def _top_level_modules(folder: Path) -> set[str]:
    found: set[str] = set()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.suffix == ".py" and entry.is_file():
            found.add(entry.stem)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            found.add(entry.name)
    return found


def shared_modules(template: Template) -> dict[str, list[Function]]:
    """Top-level module names that more than one code folder defines (a handler module itself is
    imported under a private name in-process, so only the modules it imports can collide)."""
    folders: dict[str, dict[Path, Function]] = defaultdict(dict)
    for fn in template.functions.values():
        if not fn.runtime.startswith("python"):
            continue
        handler_module = fn.handler.rpartition(".")[0].split(".")[0]
        root = fn.code_uri.resolve()
        for name in _top_level_modules(root) - {handler_module}:
            folders[name].setdefault(root, fn)
    return {name: list(by_folder.values()) for name, by_folder in sorted(folders.items()) if len(by_folder) > 1}


def collision_message(template: Template) -> str | None:
    shared = shared_modules(template)
    if not shared:
        return None
    lines = [f"module `{name}` is in the code of " + " and ".join(f"{fn.name} ({fn.code_uri})" for fn in fns)
             for name, fns in shared.items()]
    return ("in-process, functions share one sys.modules and would run each other's modules: "
            + "; ".join(lines) + f". {HOW}")


class RecordingProcessRuntime(ProcessRuntime):
    """ProcessRuntime keeping each invocation of a test, as RecordingRuntime does in-process; the
    function's lines are those its environment printed during the invocation."""

    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = False) -> None:
        super().__init__(template, env, hot_reload)
        self.records: list[InvocationRecord] = []
        self._printed: dict[str, list[str]] = defaultdict(list)

    def invoke(self, name: str, event: Any, *, trigger: str = "direct") -> Invocation:
        inv = super().invoke(name, event, trigger=trigger)
        self.records.append(InvocationRecord(name, trigger, event, inv, self._printed.pop(inv.request_id, [])))
        return inv

    def _output(self, env: Environment, line: str) -> None:
        super()._output(env, line)
        if env.current is not None:
            self._printed[env.current.request_id].append(line)
