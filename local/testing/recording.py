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
from typing import Any, TextIO, cast

from local.logs import NOISY_LOGGERS
from local.model import Template
from local.runtime import Invocation, Runtime

# The invocation a log record belongs to; the handler's thread copies our context, so its logs land here.
_lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("lightbox_test_logs", default=None)


@dataclass
class InvocationRecord:
    """One invocation as a test sees it: what went in, what came out, what was logged."""

    function: str
    trigger: str  # "direct", "http:POST /uploads", "sqs:ThumbnailsQueue", "s3:bucket/key" ...
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
    if top in ("lightbox", "local"):
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


class PrintRouter(io.TextIOBase):
    """Stands in for sys.stdout or sys.stderr while invocations run: what a handler prints joins
    its invocation's log lines (Lambda sends both streams to the function's log), line by line;
    what anything else writes goes on to the stream it replaced."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._partial: dict[int, str] = {}  # id of an invocation's lines -> its unfinished line

    def write(self, text: str) -> int:
        lines = _lines.get()
        if lines is None:
            return self.inner.write(text)
        *done, rest = (self._partial.pop(id(lines), "") + text).split("\n")
        lines.extend(done)
        if rest:
            self._partial[id(lines)] = rest
        return len(text)

    def finish(self, lines: list[str]) -> None:
        """The invocation has ended: an unfinished last line is a line too."""
        rest = self._partial.pop(id(lines), "")
        if rest:
            lines.append(rest)

    def flush(self) -> None:
        self.inner.flush()

    def writable(self) -> bool:
        return True


_routing = threading.Lock()
_routed = 0  # invocations running with the routers in place


@contextmanager
def _prints_routed() -> Iterator[tuple[PrintRouter, PrintRouter]]:
    """sys.stdout and sys.stderr routed for as long as any invocation runs. Installed per
    invocation, not per test, because pytest puts its own capture streams back between phases."""
    global _routed
    with _routing:
        if _routed == 0 or not isinstance(sys.stdout, PrintRouter) or not isinstance(sys.stderr, PrintRouter):
            sys.stdout, sys.stderr = PrintRouter(sys.stdout), PrintRouter(sys.stderr)
        _routed += 1
        routers = (cast(PrintRouter, sys.stdout), cast(PrintRouter, sys.stderr))
    try:
        yield routers
    finally:
        with _routing:
            _routed -= 1
            if _routed == 0:
                for name, router in zip(("stdout", "stderr"), routers, strict=True):
                    if getattr(sys, name) is router:  # else someone replaced it meanwhile: theirs now
                        setattr(sys, name, router.inner)


class RecordingRuntime(Runtime):
    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = False) -> None:
        super().__init__(template, env, hot_reload)
        self.records: list[InvocationRecord] = []

    def invoke(self, name: str, event: Any, *, trigger: str = "direct") -> Invocation:
        lines: list[str] = []
        token = _lines.set(lines)
        try:
            with _prints_routed() as routers:
                try:
                    inv = super().invoke(name, event, trigger=trigger)
                finally:
                    for router in routers:
                        router.finish(lines)
        finally:
            _lines.reset(token)
        self.records.append(InvocationRecord(name, trigger, event, inv, lines))
        return inv
