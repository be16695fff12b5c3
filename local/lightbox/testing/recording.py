"""A Runtime that keeps every invocation of a test, with the log lines the handler wrote during it:
its logging records and what it printed."""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from lightbox.logs import NOISY_LOGGERS
from lightbox.runtime.invoke import Invocation, Runtime
from lightbox.template.model import Template

# The invocation a log record belongs to; the handler's thread copies our context, so its logs land here.
_lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("lightbox_test_logs", default=None)


@dataclass
class InvocationRecord:
    """One invocation as a test sees it: what went in, what came out, what was logged."""

    function: str
    trigger: str  # "direct", "http:POST /orders", "sqs:OrdersQueue", "s3:bucket/key" ...
    event: Any
    invocation: Invocation
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.invocation.ok

    @property
    def result(self) -> Any:
        return self.invocation.result

    @property
    def error(self) -> BaseException | None:
        return self.invocation.error

    @property
    def traceback(self) -> str:
        return self.invocation.traceback


def _from_the_function(record: logging.LogRecord) -> bool:
    """The function's own lines: not the emulator's (it reports the invocation itself), nor library chatter."""
    top = record.name.split(".", 1)[0]
    if top == "lightbox":
        return False
    return record.levelno >= logging.WARNING or top not in NOISY_LOGGERS


class InvocationLogHandler(logging.Handler):
    """Routes each log record to the invocation that was running when it was written."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.addFilter(_from_the_function)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _lines.get()
        if lines is not None:
            lines.append(self.format(record))


class _Lines(list[str]):
    """An invocation's log lines, and the line each stream has begun and not yet ended."""

    def __init__(self) -> None:
        super().__init__()
        self.partial: dict[str, str] = {}

    def finish(self) -> list[str]:
        """The invocation has ended: an unfinished last line is a line too."""
        self.extend(rest for rest in self.partial.values() if rest)
        self.partial.clear()
        return list(self)


class PrintRouter(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr while invocations run: what a handler prints joins
    its invocation's log lines (Lambda sends both streams to the function's log), line by line;
    what anything else writes goes on to the stream it replaced."""

    def __init__(self, inner: TextIO, name: str) -> None:
        self.inner = inner
        self.name = name

    def write(self, text: str) -> int:
        lines = _lines.get()
        if not isinstance(lines, _Lines):
            return self.inner.write(text)
        *done, rest = (lines.partial.pop(self.name, "") + text).split("\n")
        lines.extend(done)
        lines.partial[self.name] = rest
        return len(text)

    def flush(self) -> None:
        self.inner.flush()

    def writable(self) -> bool:
        return True

    # What handlers and libraries ask of a stream; bytes written through fileno() or .buffer
    # bypass the log and reach the real stream, as they do without the plugin.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None) or "strict"

    def fileno(self) -> int:
        return self.inner.fileno()

    def __getattr__(self, name: str) -> Any:  # buffer, reconfigure, line_buffering, mode ...
        return getattr(self.inner, name)


_routing = threading.Lock()
_routed = 0  # invocations running with the routers in place


@contextmanager
def _prints_routed() -> Iterator[None]:
    """sys.stdout and sys.stderr routed for as long as any invocation runs. Installed per
    invocation, not per test, because pytest puts its own capture streams back between phases;
    a stream someone replaced meanwhile gets a router of its own."""
    global _routed
    with _routing:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, PrintRouter):
                setattr(sys, name, PrintRouter(stream, name))
        _routed += 1
    try:
        yield
    finally:
        with _routing:
            _routed -= 1
            if _routed == 0:
                for name in ("stdout", "stderr"):
                    stream = getattr(sys, name)
                    while isinstance(stream, PrintRouter):
                        stream = stream.inner
                    setattr(sys, name, stream)


class RecordingRuntime(Runtime):
    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = False) -> None:
        super().__init__(template, env, hot_reload)
        self.records: list[InvocationRecord] = []

    def invoke(self, name: str, event: Any, *, trigger: str = "direct") -> Invocation:
        lines = _Lines()
        token = _lines.set(lines)
        try:
            with _prints_routed():
                inv = super().invoke(name, event, trigger=trigger)
        finally:
            _lines.reset(token)
        self.records.append(InvocationRecord(name, trigger, event, inv, lines.finish()))
        return inv
