"""Runtime with execution environments: what `lightbox up`, `lightbox worker` and gunicorn run."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lightbox import config
from lightbox.exceptions import FunctionError
from lightbox.logs import after_response, trace_id
from lightbox.runtime.environments import debugger, logs
from lightbox.runtime.environments.environment import INIT_TIMEOUT_SECONDS, Environment, Spec
from lightbox.runtime.environments.handlers import check_python_handler
from lightbox.runtime.environments.invocation import Pending, StreamBody
from lightbox.runtime.environments.pool import FunctionPool, Limits, Watchdog
from lightbox.runtime.environments.runtimes import launcher_for
from lightbox.runtime.invoke import Runtime, source_mtimes, unsupported
from lightbox.runtime.runtimes import launchers, support  # noqa: F401 - launchers registers Node.js and provided.*
from lightbox.runtime.tenancy import RUNTIME_HEADER, tenant_id
from lightbox.template.model import Function, Template

log = logging.getLogger("lightbox.invoke")

# Lambda-Runtime-Client-Context / -Cognito-Identity of the invocation being made (the Invoke API
# sets them from X-Amz-Client-Context; a mobile SDK's identity), sent by /next as Lambda does.
invocation_headers: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "lightbox_invocation_headers", default=None)

# Invocations whose caller waits for the answer: throttled at once (429). Any other trigger (a
# queue, an async invoke) waits for a free environment, as Lambda's pollers and async queue do.
SYNC_TRIGGERS = ("http", "cli", "direct", "invoke", "RequestResponse")


class _Versioned:
    """A function's pool and the sources it was started from (hot reload)."""

    def __init__(self, pool: FunctionPool, mtimes: dict[Any, float]) -> None:
        self.pool, self.mtimes, self.checked_at = pool, mtimes, time.monotonic()


class ProcessRuntime(Runtime):
    """Every invocation in an execution environment process of its function (see package doc)."""

    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = True,
                 limits: Limits | None = None, client: str = "lightbox", debug_address: str = "127.0.0.1",
                 debug_here: bool = True) -> None:
        super().__init__(template, env, hot_reload)
        self.limits = limits or Limits(config.max_concurrency(), config.idle_seconds(), config.enforce_memory())
        self.client = client
        # `--debug`: where its debugger listens, and whether this process holds that environment (`up`) or
        # hands the function's invocations to the one that does (a worker).
        self.debug_address, self.debug_here = debug_address, debug_here
        for fn in template.functions.values():
            if fn.debug_port is not None:
                debugger.check(fn, client)
        self._pools: dict[str, _Versioned] = {}
        self._plock = threading.Lock()
        self._watchdog = Watchdog(lambda: [v.pool for v in list(self._pools.values())], self.limits)

    # -- pools -------------------------------------------------------------------------------
    def _spec(self, fn: Function) -> Spec:
        launcher = launcher_for(fn)
        reason = unsupported(fn)  # runtimes/support.py: what runs here, and why not
        if reason or launcher is None:
            raise FunctionError(f"{fn.name}: {reason or f'runtime {fn.runtime} is not run here'}",
                                "Runtime.InvalidRuntime")
        base = config.function_overlay(os.environ, self.environment(fn))  # no user AWS profile, as on Lambda
        started = launcher(fn, self.client)
        if fn.debug_port is not None:
            started = debugger.wrap(fn, started, self.debug_address, self.client)
        return Spec(fn, started, base, self.template.region, self._output)

    def pool(self, fn: Function, tenant: str | None = None) -> FunctionPool:
        """The function's environments; a tenant's own ones for a function with tenant isolation."""
        key = fn.name if tenant is None else f"{fn.name}\0{tenant}"
        with self._plock:
            current = self._pools.get(key)
            if current is not None and self.hot_reload and \
                    time.monotonic() - current.checked_at > config.RELOAD_CHECK_SECONDS:
                current.checked_at = time.monotonic()
                if source_mtimes(self._paths(fn), support.sources(fn)) != current.mtimes:
                    log.info("%s: source changed, new environments from now on", fn.name)
                    current.pool.close()
                    current = None
            if current is None:
                # One spec for every environment of this version of the code: an unrunnable runtime fails
                # here, before any process, and a launcher's look at the code (the Node.js SDK scan) is made once.
                spec = self._spec(fn)
                limit = fn.reserved_concurrency if fn.reserved_concurrency is not None else self.limits.max_concurrency
                limit = 1 if fn.debug_port is not None else limit  # one debugger port, one environment
                current = _Versioned(FunctionPool(spec, limit),
                                     source_mtimes(self._paths(fn), support.sources(fn)) if self.hot_reload else {})
                self._pools[key] = current
            return current.pool

    def load(self, name: str) -> Callable[[Any, Any], Any]:
        """Nothing is imported here: a function's import runs in its environment, on first use. A
        Handler naming nothing in its file is refused now (handlers.py)."""
        fn = self.template.function(name)
        check_python_handler(fn)

        def call(event: Any, context: Any = None) -> Any:
            return self.invoke(fn.name, event).unwrap()

        return call

    def warm(self, names: Iterable[str] | None = None, wait: bool = False) -> None:
        """One environment per function (default: all), started now (SAM's --warm-containers EAGER);
        `wait`: return once each has imported its handler (or failed to)."""
        started: list[Environment] = []
        for name in self.template.functions if names is None else names:
            fn = self.template.functions[name]
            if fn.tenant_isolation:  # its environments are each tenant's, made for that tenant's first call
                continue
            try:
                pool = self.pool(fn)
                env, _ = pool.acquire(wait=False)
            except FunctionError as exc:
                log.warning("%s: not warmed: %s", fn.name, exc)
                continue
            pool.release(env)
            started.append(env)
        deadline = time.monotonic() + INIT_TIMEOUT_SECONDS
        while wait and time.monotonic() < deadline and any(e.init_ms is None and not e.dead for e in started):
            time.sleep(0.01)

    def describe(self) -> list[str]:
        lim = self.limits
        memory = ("on (an environment over its MemorySize is killed: Runtime.OutOfMemory; "
                  f"{config.ENFORCE_MEMORY_VAR}=0 turns it off)" if lim.enforce_memory else
                  f"off ({config.ENFORCE_MEMORY_VAR}=0)")
        lines = [f"  functions: each in execution environment processes of its own (up to {lim.max_concurrency} "
                 f"per function unless ReservedConcurrentExecutions; idle ones end after "
                 f"{lim.idle_seconds / 60:g} min); Python runtime client: {self.client}",
                 f"  memory enforcement: {memory}"]
        return [*lines, *self.debug_lines()]

    def debug_lines(self) -> list[str]:
        lines = []
        for fn in self.template.functions.values():
            if fn.debug_port is not None:
                tool = "node --inspect" if fn.runtime.startswith("nodejs") else "debugpy"
                lines.append(f"  debugging {fn.name}: its environment waits for a debugger ({tool}) to attach on "
                             f"{self.debug_address}:{fn.debug_port}; its Timeout is suspended")
        return lines

    def close(self) -> None:
        with self._plock:
            pools, self._pools = list(self._pools.values()), {}
        for v in pools:
            v.pool.kill_all()
        self._watchdog.stop()

    def replace_template(self, template: Template) -> None:
        with self._plock:
            pools, self._pools = list(self._pools.values()), {}
            self.template = template
        for v in pools:
            v.pool.close()

    # -- invoking ----------------------------------------------------------------------------
    def _run(self, fn: Function, event: Any, request_id: str, trigger: str) -> Any:
        if fn.debug_port is not None and not self.debug_here:
            return debugger.forward(fn, event, self.env["AWS_ENDPOINT_URL_LAMBDA"], self.template.region)
        tenant = tenant_id.get()
        pool = self.pool(fn, tenant)
        # The debugged function's one environment: its invocations queue for it while a session pauses one.
        env, cold = pool.acquire(wait=fn.debug_port is not None or not trigger.startswith(SYNC_TRIGGERS))
        name = fn.function_name or fn.name
        headers = {"Lambda-Runtime-Invoked-Function-Arn":
                   f"arn:aws:lambda:{self.template.region}:{self.template.account_id}:function:{name}"}
        trace = trace_id.get()
        if trace:
            headers["Lambda-Runtime-Trace-Id"] = trace
        if tenant:
            headers[RUNTIME_HEADER] = tenant
        headers.update(invocation_headers.get() or {})
        pending = Pending(request_id, json.dumps(event).encode(), fn.timeout, headers)
        # START is written while the function runs if it takes more than a moment, or by the first line
        # of its output if that comes first; a quick invocation's comes with its END (after the response).
        env.open_log(logs.start_line(request_id))
        streamed = False
        try:
            env.invoke(pending, handed=lambda: self._opened(env))
            env.drain_output()  # before it is released: its lines are tagged with this request's id
            streamed = pending.stream is not None and not env.dead
        finally:
            start = env.take_opening()
            if streamed:
                env.release_after_stream(lambda: pool.release(env))
            else:
                pool.release(env)
        duration = max(0.0, time.monotonic() - (pending.delivered_at or time.monotonic())) * 1000
        init_ms = env.init_ms if cold else None

        def close_log() -> None:
            if start is not None:
                logs.emit(fn.name, start)
            logs.emit(fn.name, logs.end_line(request_id))
            # Max Memory Used is the environment's peak (VmHWM), as Lambda's: read here, after the response.
            logs.emit(fn.name, logs.report_line(request_id, duration, fn.memory_size, env.peak_mb(), init_ms))

        # A success's END and REPORT can follow its response; a failure's come before it, to be read with it.
        if pending.error is None:
            after_response(close_log)
        else:
            close_log()
        if pending.error is not None:
            raise pending.error
        if pending.stream is not None:
            return streamed_result(pending.stream)
        return json.loads(pending.response or b"null")

    def _opened(self, env: Environment) -> None:
        if (start := env.take_opening()) is not None:
            logs.emit(env.function.name, start)

    def _output(self, env: Environment, line: str) -> None:
        current = env.current
        self._opened(env)
        logs.emit(env.function.name, logs.tagged(current.request_id if current else None, line))


def streamed_result(stream: StreamBody) -> dict[str, Any]:
    """A streamed response as an HTTP answer: its prelude's statusCode, headers and cookies (200 when
    it has none); a stream without a prelude is a 200 of its own Content-Type."""
    if stream.prelude is None:
        return {"statusCode": 200, "headers": {"Content-Type": stream.content_type}, "body": stream}
    try:
        prelude = json.loads(stream.prelude or b"{}")
    except ValueError:
        stream.close()
        raise FunctionError(f"the response's prelude is not JSON: {stream.prelude[:200]!r}",
                            "Runtime.InvalidResponse") from None
    return {"statusCode": 200, **(prelude if isinstance(prelude, dict) else {}), "body": stream}
