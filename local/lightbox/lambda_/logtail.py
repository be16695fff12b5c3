"""The log of one invocation, as `X-Amz-Log-Type: Tail` returns it: START, the function's output,
END and REPORT, of which Lambda sends the last 4 KB, base64-encoded.

Where the log comes from, in order: `Invocation.log` when the runtime gives it; the runtime's own
log lines (logger `lightbox.function`: an execution environment's START/END/REPORT and output, each
naming the request id); else what the handler prints or logs while it runs in this process (a
sandbox thread runs in a copy of the invoking context, so a ContextVar marks whose output a write is).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import math
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TextIO

from lightbox.logs import immediate
from lightbox.runtime.invoke import Invocation

# Lambda returns the last 4 KB of the log in X-Amz-Log-Result.
TAIL_BYTES = 4096
_buffer: ContextVar[list[str] | None] = ContextVar("lightbox_log_tail", default=None)
_install_lock = threading.Lock()
# The logger environments write a function's log to, from threads of their own: collected for every
# open invocation, and sorted out by request id afterwards.
RUNTIME_LOGGER = "lightbox.function"
_runtime_lines: list[list[str]] = []


@dataclass
class Collected:
    output: list[str] = field(default_factory=list)  # written by the handler in this context
    runtime: list[str] = field(default_factory=list)  # the runtime's log lines meanwhile


class _Tee:
    """A stream that also appends what is written to the current invocation's buffer, if any."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        buf = _buffer.get()
        if buf is not None:
            buf.append(text)
        return self.inner.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Records(logging.Handler):
    """Log records of the function (not of the emulator) in Lambda's Python runtime format."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(message)s",
                                            "%Y-%m-%dT%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == RUNTIME_LOGGER:
            line = record.getMessage()
            for lines in list(_runtime_lines):
                lines.append(line)
            return
        buf = _buffer.get()
        if buf is not None and not record.name.startswith(("lightbox", "werkzeug", "rq")):
            buf.append(self.format(record) + "\n")


_records = _Records()


def _install() -> None:
    with _install_lock:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _Tee):
                setattr(sys, name, _Tee(stream))
        root = logging.getLogger()
        if _records not in root.handlers:
            root.addHandler(_records)
        runtime = logging.getLogger(RUNTIME_LOGGER)
        if runtime.getEffectiveLevel() > logging.INFO:  # its lines are the tail, whatever the root's level
            runtime.setLevel(logging.INFO)


@contextlib.contextmanager
def collected() -> Iterator[Collected]:
    """What the handler writes, and the runtime logs, while this block runs."""
    _install()
    out = Collected()
    token = _buffer.set(out.output)
    with _install_lock:
        _runtime_lines.append(out.runtime)
    try:
        with immediate():  # the lines are the tail: none may wait for the response
            yield out
    finally:
        _buffer.reset(token)
        with _install_lock:
            _runtime_lines.remove(out.runtime)


def _runtime_log(inv: Invocation, lines: list[str]) -> str | None:
    """The runtime's own log of this invocation (`[Fn] START RequestId: ...`), if it wrote one."""
    mine = [line.partition("] ")[2] if line.startswith("[") else line for line in lines if inv.request_id in line]
    if not any(line.startswith(f"START RequestId: {inv.request_id}") for line in mine):
        return None
    return "".join(f"{line}\n" for line in mine)


def lambda_log(inv: Invocation, memory_size: int, collected: Collected, error_lines: list[str]) -> str:
    """The invocation's log as Lambda writes it to CloudWatch."""
    given = getattr(inv, "log", None)  # a runtime that keeps its environment's output
    if isinstance(given, str):
        return given
    written = _runtime_log(inv, collected.runtime)
    if written is not None:
        return written
    body = "".join(collected.output) + "".join(f"{line}\n" for line in error_lines)
    duration = inv.duration_ms
    report = (f"REPORT RequestId: {inv.request_id}\tDuration: {duration:.2f} ms\t"
              f"Billed Duration: {max(1, math.ceil(duration))} ms\tMemory Size: {memory_size} MB")
    used = getattr(inv, "max_memory_mb", None)
    if isinstance(used, int):
        report += f"\tMax Memory Used: {used} MB"
    return (f"START RequestId: {inv.request_id} Version: $LATEST\n{body}"
            f"END RequestId: {inv.request_id}\n{report}\t\n")


def tail(log: str) -> str:
    """The last 4 KB of a log, base64: X-Amz-Log-Result."""
    return base64.b64encode(log.encode()[-TAIL_BYTES:]).decode()
