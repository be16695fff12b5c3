"""invoke(function, event) -> result, the way Lambda runs a Python handler.

The module is imported from CodeUri under a private name (every function may call its
module `app`), layers' `python/` folders are on sys.path, the function's environment is
applied for its invocation only, Timeout is enforced, module and per-thread state stay warm
between invocations (each runs on a warm thread of its function, one invocation at a time,
as in a Lambda execution environment), and a changed source file is re-imported on the next
invocation.
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from lightbox import config
from lightbox.config import Settings
from lightbox.exceptions import FunctionError, HandlerNotFound, InvocationTimeout
from lightbox.logs import after_response
from lightbox.runtime.context import LambdaContext
from lightbox.runtime.environ import function_environment
from lightbox.runtime.metrics import observe_invocation
from lightbox.runtime.runtimes import support
from lightbox.runtime.sandbox import SandboxPool, close_pools
from lightbox.runtime.tenancy import tenant_id, tenant_of
from lightbox.template.loader import load_for
from lightbox.template.model import Finding, Function, Template

log = logging.getLogger("lightbox.invoke")


@dataclass
class Invocation:
    """The outcome of one invocation, with what the log line says about it."""

    function: str
    request_id: str
    result: Any = None
    error: BaseException | None = None
    traceback: str = ""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class _Loaded:
    handler: Callable[[Any, Any], Any]
    module: ModuleType
    pool: SandboxPool
    mtimes: dict[Path, float] = field(default_factory=dict)
    checked_at: float = 0.0


def source_mtimes(roots: list[Path], suffixes: tuple[str, ...] | None = (".py",)) -> dict[Path, float]:
    """Each source file's mtime: those with these suffixes (None: every file). Not walked: node_modules,
    hidden folders (.git, .venv, .aws-sam) and __pycache__. A `CodeUri: .` with a virtualenv inside
    would otherwise be walked whole at every check (every RELOAD_CHECK_SECONDS of invocations)."""
    found: dict[Path, float] = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__") and not d.startswith(".")]
            for name in files:
                path = Path(folder, name)
                if suffixes is not None and path.suffix not in suffixes:
                    continue
                try:
                    found[path] = path.stat().st_mtime
                except OSError:
                    continue
    return found


class Runtime:
    """Loads and invokes the functions of one template; one per process, shared by threads."""

    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = True) -> None:
        self.template = template
        self.env = dict(env or {})  # what the emulator adds: endpoints, REDIS_URL ...
        self.hot_reload = hot_reload
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.RLock()
        weakref.finalize(self, close_pools, self._loaded)  # sandbox threads end with the runtime

    # -- loading -------------------------------------------------------------------------
    def _paths(self, fn: Function) -> list[Path]:
        return [fn.code_uri, *(layer / "python" for layer in fn.layers)]

    def environment(self, fn: Function) -> dict[str, str]:
        """Template variables win, except where the template leaves a value empty for us to fill."""
        merged = {**self.env, **{k: v for k, v in fn.environment.items() if v != "" or k not in self.env}}
        merged.update({
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name or fn.name,  # the physical name, as on Lambda
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": self.template.region,
            "AWS_DEFAULT_REGION": self.template.region,
            "LAMBDA_TASK_ROOT": str(fn.code_uri),
        })
        return merged

    def load(self, name: str) -> Callable[[Any, Any], Any]:
        return self._load(name).handler

    def warm(self, names: Iterable[str] | None = None, wait: bool = False) -> None:
        """Import these functions (default: all) now, before their first invocation."""
        for name in self.template.functions if names is None else names:
            fn = self.template.functions[name]
            if fn.handler_found and in_process_problem(fn) is None:
                self.load(name)

    def describe(self) -> list[str]:
        """How functions run, as `lightbox up` says it."""
        return ["  functions run on threads of this process (in-process mode)", *self.debug_lines()]

    def debug_lines(self) -> list[str]:
        """What `--debug` does, as `up` and `invoke` say it."""
        return [f"  debugging {fn.name}: not here: on threads of this process (LIGHTBOX_ISOLATION=thread) no debugger "
                "is started; its Timeout is suspended all the same" for fn in self.template.functions.values()
                if fn.debug_port is not None]

    def close(self) -> None:
        """End every warm sandbox thread (a busy one after its call returns)."""
        with self._lock:
            close_pools(self._loaded)

    def replace_template(self, template: Template) -> None:
        """A reloaded template: every function is imported afresh on its next invocation."""
        with self._lock:
            for name in list(self._loaded):
                if name in self.template.functions:
                    self._forget(self.template.functions[name])
                else:
                    self._loaded.pop(name).pool.close()
            self.template = template

    def _load(self, name: str) -> _Loaded:
        fn = self.template.function(name)
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded and self.hot_reload and time.monotonic() - loaded.checked_at > config.RELOAD_CHECK_SECONDS:
                loaded.checked_at = time.monotonic()
                if source_mtimes(self._paths(fn)) != loaded.mtimes:
                    log.info("%s: source changed, reloading", name)
                    self._forget(fn)
                    loaded = None
            if loaded is None:
                loaded = self._import(fn)
                self._loaded[name] = loaded
            return loaded

    def _forget(self, fn: Function) -> None:
        old = self._loaded.pop(fn.name, None)
        if old is not None:
            old.pool.close()
        roots = [str(p) for p in self._paths(fn)]
        for mod_name, mod in list(sys.modules.items()):
            file = getattr(mod, "__file__", None) or ""
            if mod_name.startswith(f"lightbox_fn_{fn.name}.") or any(file.startswith(r) for r in roots):
                del sys.modules[mod_name]

    def _import(self, fn: Function) -> _Loaded:
        reason = in_process_problem(fn)
        if reason:
            raise HandlerNotFound(f"{fn.name}: {reason}")
        mtimes = source_mtimes(self._paths(fn)) if self.hot_reload else {}
        module_path, _, attr = fn.handler.rpartition(".")
        file = fn.code_uri / (module_path.replace(".", "/") + ".py")
        if not file.is_file():
            file = fn.code_uri / module_path.replace(".", "/") / "__init__.py"
        # Layers and CodeUri go on sys.path so the handler's own imports resolve as on Lambda.
        for path in reversed(self._paths(fn)):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        unique = f"lightbox_fn_{fn.name}.{module_path}"
        spec = importlib.util.spec_from_file_location(unique, file)
        if spec is None or spec.loader is None:
            raise HandlerNotFound(f"{fn.name}: cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            with function_environment(self.environment(fn)):
                spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[unique]
            raise HandlerNotFound(f"{fn.name}: importing {file} failed: {exc!r}") from exc
        handler = getattr(module, attr, None)
        if not callable(handler):
            found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
            raise HandlerNotFound(
                f"{fn.name}: Handler {fn.handler} names no function in {file} (callables found: {found})")
        return _Loaded(handler, module, SandboxPool(fn.name), mtimes, time.monotonic())

    # -- invoking ------------------------------------------------------------------------
    def invoke(self, name: str, event: Any, *, trigger: str = "direct") -> Invocation:
        """Run one invocation; never raises for the handler's own errors (see Invocation.error)."""
        fn = self.template.function(name)
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        inv = Invocation(name, request_id)
        try:
            tenant_of(fn)  # a tenant missing or not accepted: refused before anything runs
            inv.result = self._run(fn, event, request_id, trigger)
        except BaseException as exc:  # noqa: BLE001 - every handler failure is reported, none escapes
            inv.error = exc
            inv.traceback = exc.traceback_text() if isinstance(exc, FunctionError) else \
                "".join(traceback.format_exception(exc))
        inv.duration_ms = (time.perf_counter() - started) * 1000
        if inv.ok:  # its line and metrics can follow the response; a failure's come before it, to be read with it
            after_response(lambda: self._observed(inv, trigger))
        else:
            self._observed(inv, trigger)
        return inv

    def _observed(self, inv: Invocation, trigger: str) -> None:
        observe_invocation(inv.function, trigger, inv.duration_ms / 1000, inv.error)
        self._log(inv, trigger)

    def _run(self, fn: Function, event: Any, request_id: str, trigger: str) -> Any:
        """This runtime's way to run one invocation: on a warm sandbox thread of this process."""
        loaded = self._load(fn.name)
        context = LambdaContext(fn.function_name or fn.name, fn.timeout, fn.memory_size, self.template.region,
                                self.template.account_id, request_id, tenant_id=tenant_id.get())
        return self._call_with_timeout(fn, loaded, event, context)

    def _call_with_timeout(self, fn: Function, loaded: _Loaded, event: Any, context: LambdaContext) -> Any:
        env = self.environment(fn)

        def run() -> Any:
            with function_environment(env):
                return loaded.handler(event, context)

        sandbox = loaded.pool.take()
        call = sandbox.start(contextvars.copy_context(), run)
        try:
            finished = call.done.wait(fn.timeout)
        except BaseException:  # interrupted (Ctrl-C, RQ's job timeout): nobody will give it back
            sandbox.retire()
            raise
        if not finished:
            # The handler keeps running in the background, as a frozen Lambda sandbox would, but
            # its result is discarded and its thread takes no more invocations.
            sandbox.retire()
            raise InvocationTimeout(f"Task timed out after {fn.timeout:.2f} seconds")
        loaded.pool.give_back(sandbox)
        if call.error is not None:
            raise call.error
        return call.result

    def _log(self, inv: Invocation, trigger: str) -> None:
        line = {
            "request_id": inv.request_id,
            "function": inv.function,
            "trigger": trigger,
            "duration_ms": round(inv.duration_ms, 2),
            "outcome": "ok" if inv.ok else getattr(inv.error, "error_type", type(inv.error).__name__),
        }
        if inv.ok:
            log.info(json.dumps(line))
        else:
            line["error"] = str(inv.error)
            log.error("%s\n%s", json.dumps(line), inv.traceback.rstrip())


def unsupported(fn: Function) -> str | None:
    """Why `fn` cannot run in execution environments (what `up` runs), or None (runtimes/support.py)."""
    return support.unsupported(fn)


def in_process_problem(fn: Function) -> str | None:
    """Why `fn` cannot run on a thread of this process: a runtime other than Python needs an environment."""
    if reason := unsupported(fn):
        return reason
    if not fn.runtime.startswith("python"):
        return (f"{fn.runtime} functions run only in execution environments, not in-process (in the pytest plugin: "
                "--lightbox-isolation=process, or @pytest.mark.lightbox_isolation(\"process\"))")
    return None


def runtime_findings(template: Template) -> list[Finding]:
    """One line per function that will not run, or runs on another version, as `up` and `validate` print them."""
    return support.runtime_findings(template)


def build_runtime(settings: Settings, isolation: str | None = None) -> Runtime:
    """The runtime of `lightbox up`, `lightbox worker` and gunicorn: execution environments
    (runtime/environments); isolation="thread" (or LIGHTBOX_ISOLATION=thread) runs handlers on
    threads of this process."""
    template = load_for(settings)
    if (isolation or config.isolation()) == "thread":
        return Runtime(template, env=config.function_env(settings), hot_reload=settings.hot_reload)
    from lightbox.runtime.environments.runtime import ProcessRuntime  # it builds on this module

    return ProcessRuntime(template, env=config.function_env(settings), hot_reload=settings.hot_reload,
                          client=config.python_ric(), debug_address=settings.host,
                          debug_here=settings.debug_host in (None, str(os.getpid())))
