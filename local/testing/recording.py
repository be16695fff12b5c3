"""A Runtime that keeps every invocation of a test, with the log lines the handler wrote during it."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


class RecordingRuntime(Runtime):
    def __init__(self, template: Template, env: Mapping[str, str] | None = None, hot_reload: bool = False) -> None:
        super().__init__(template, env, hot_reload)
        self.records: list[InvocationRecord] = []

    def invoke(self, name: str, event: Any, *, trigger: str = "direct") -> Invocation:
        lines: list[str] = []
        token = _lines.set(lines)
        try:
            inv = super().invoke(name, event, trigger=trigger)
        finally:
            _lines.reset(token)
        self.records.append(InvocationRecord(name, trigger, event, inv, lines))
        return inv
