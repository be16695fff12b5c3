"""Structured logs: one JSON object per line, carrying the trace id of the request being served.

Servers (gunicorn in compose, `lightbox worker`, `lightbox serve`) switch to this with
LIGHTBOX_LOG_FORMAT=json; laptops keep the readable text format.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from lightbox import config

# X-Ray's header format, so a trace id given by a load balancer or API Gateway is kept as is.
TRACE_HEADER = "X-Amzn-Trace-Id"
trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("lightbox_trace_id", default=None)

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Libraries whose INFO lines say nothing a user acts on (one per request or per client): WARNING and up only.
NOISY_LOGGERS = ("werkzeug", "botocore", "urllib3", "rq")


# Work that may wait until the HTTP response being made is sent (see after_response).
_after_response: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "lightbox_after_response", default=None)


def after_response(work: Callable[[], None]) -> None:
    """Run `work` (an invocation's closing log lines; giving its runtime's connection back) once the
    response of the HTTP request being served is on its way, or now outside one: its client need not
    wait for work about it."""
    later = _after_response.get()
    if later is None:
        work()
    else:  # run in the context it was given in: its lines keep the request's trace id
        later.append(functools.partial(contextvars.copy_context().run, work))


def responding() -> bool:
    """Within an HTTP request whose response is still to be sent (after_response would defer)."""
    return _after_response.get() is not None


@contextlib.contextmanager
def deferring() -> Iterator[Callable[[], None]]:
    """Around one HTTP request: work given to after_response waits for the function this yields
    (called once the response is sent), or for the end of the block."""
    later: list[Callable[[], None]] = []
    token = _after_response.set(later)

    def run() -> None:
        while later:
            try:
                later.pop(0)()
            except Exception:
                logging.getLogger(__name__).exception("work after a response failed")

    try:
        yield run
    finally:
        _after_response.reset(token)
        run()


@contextlib.contextmanager
def immediate() -> Iterator[None]:
    """Log lines are written as they come in this block (a log tail collects them)."""
    token = _after_response.set(None)
    try:
        yield
    finally:
        _after_response.reset(token)


def new_trace_id() -> str:
    """Root=1-{epoch hex}-{96 random bits}, as X-Ray writes it."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        message = record.getMessage()
        # The runtime already logs each invocation as a JSON object: merge it rather than nest a string.
        if message.startswith("{") and "\n" not in message:
            try:
                parsed = json.loads(message)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                line.update(parsed)
                message = ""
        if message:
            line["message"] = message
        if (trace := trace_id.get()) is not None:
            line.setdefault("trace_id", trace)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line.setdefault(key, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: int = logging.INFO, json_format: bool | None = None) -> None:
    """Root logging for a lightbox process: JSON when asked (argument > LIGHTBOX_LOG_FORMAT > text)."""
    handler = logging.StreamHandler(sys.stderr)
    use_json = config.json_logging_wanted() if json_format is None else json_format
    handler.setFormatter(JsonFormatter() if use_json else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    if not root.handlers:  # as basicConfig: a host that configured logging (pytest, gunicorn) keeps it
        root.addHandler(handler)
        # Fields no format of ours shows, each looked up per record (the logging HOWTO's "Optimization"):
        # a warm invocation logs four lines.
        logging.logProcesses = logging.logMultiprocessing = False
        logging._srcfile = None  # no caller lookup: no format shows a file, line or function
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
