"""Warm sandbox threads: each runs one function's invocations one at a time, as a Lambda
execution environment does."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lightbox import config


@dataclass
class Call:
    run: Callable[[], Any]
    context: contextvars.Context
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class Sandbox:
    """One warm thread of a function, running its invocations one at a time, as a Lambda
    execution environment does: what a handler keeps per thread (a thread-local database
    connection) stays warm between invocations. A thread we can abandon is the only portable
    way to bound a call on any thread, so a timed-out sandbox is retired, not reused."""

    def __init__(self, pool: SandboxPool) -> None:
        self._pool = pool
        self._calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=f"lambda-{pool.function}", daemon=True).start()

    def start(self, context: contextvars.Context, run: Callable[[], Any]) -> Call:
        call = Call(run, context)
        self._calls.put(call)
        return call

    def retire(self) -> None:
        self._calls.put(None)  # read once the running call returns, if it ever does

    def _serve(self) -> None:
        while True:
            try:
                call = self._calls.get(timeout=config.SANDBOX_IDLE_SECONDS)
            except queue.Empty:
                if self._pool.expire(self):
                    return
                continue  # taken for a call just now: it is on its way
            if call is None:
                return
            try:
                call.result = call.context.run(call.run)
            except BaseException as exc:  # noqa: BLE001 - handed back to the invoking thread
                call.error = exc
            call.done.set()
            # Idle, hold nothing of it: its context, result and error frames lead back to the
            # runtime, which must stay collectable.
            del call


class SandboxPool:
    """The warm sandboxes of one loaded version of a function; closed when it is reloaded or
    its runtime goes, so new code never runs on a thread holding the old code's state."""

    def __init__(self, function: str) -> None:
        self.function = function
        self._idle: list[Sandbox] = []
        self._closed = False
        self._lock = threading.Lock()

    def take(self) -> Sandbox:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Sandbox(self)

    def give_back(self, sandbox: Sandbox) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(sandbox)
                return
        sandbox.retire()

    def expire(self, sandbox: Sandbox) -> bool:
        """An idle sandbox's thread asks to end; False if it was just taken for a call."""
        with self._lock:
            if sandbox in self._idle:
                self._idle.remove(sandbox)
                return True
            return False

    def close(self) -> None:
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for sandbox in idle:
            sandbox.retire()


def close_pools(loaded: dict[str, Any]) -> None:
    for record in list(loaded.values()):
        record.pool.close()
