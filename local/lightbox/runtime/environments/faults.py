"""The errors Lambda reports when an execution environment, not the handler, ends an invocation."""

from __future__ import annotations

import signal
from typing import Any

from lightbox.exceptions import FunctionError, InvocationTimeout

# Lambda's runtime agent is written in Go and names signals as Go's os/exec does.
_SIGNAL_NAMES = {
    signal.SIGSEGV: "segmentation fault", signal.SIGKILL: "killed", signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated", signal.SIGBUS: "bus error", signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction", signal.SIGINT: "interrupt", signal.SIGHUP: "hangup",
}


def exit_reason(returncode: int) -> str:
    """`exit status 3`, `signal: segmentation fault`, as Lambda words a runtime's end."""
    if returncode >= 0:
        return f"exit status {returncode}"
    number = -returncode
    try:
        name = _SIGNAL_NAMES.get(signal.Signals(number), signal.Signals(number).name.lower())
    except ValueError:
        name = f"signal {number}"
    return f"signal: {name}"


def exited(request_id: str, returncode: int) -> FunctionError:
    return FunctionError(f"RequestId: {request_id} Error: Runtime exited with error: {exit_reason(returncode)}",
                         "Runtime.ExitError")


def timed_out(request_id: str, timeout: float) -> InvocationTimeout:
    return InvocationTimeout(f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds")


def out_of_memory(request_id: str) -> FunctionError:
    return FunctionError(f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
                         "Runtime.OutOfMemory")


def from_payload(payload: Any, error_type: str | None = None) -> FunctionError:
    """The error a runtime posted to /error or /init/error (awslambdaric's JSON shape)."""
    if not isinstance(payload, dict):
        return FunctionError(str(payload), error_type or "Runtime.Unknown")
    trace = payload.get("stackTrace", payload.get("trace"))  # Python's runtimes say stackTrace, Node.js's trace
    error = FunctionError(str(payload.get("errorMessage", "")), str(payload.get("errorType") or error_type
                                                                    or "Runtime.Unknown"),
                          [str(line) for line in trace] if isinstance(trace, list) else [])
    if "trace" in payload:  # Lambda returns a Node.js error as its runtime posted it: errorType, errorMessage, trace
        error.posted = payload
    return error
