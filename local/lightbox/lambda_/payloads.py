"""What an invocation returns to its caller, as Lambda's Python runtime writes it: the result as JSON,
or for a failed invocation `{"errorMessage", "errorType", "requestId", "stackTrace"}`."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import lightbox
from lightbox.exceptions import HandlerNotFound, InvocationTimeout
from lightbox.runtime.invoke import Invocation

_EMULATOR = str(Path(lightbox.__file__).parent)


class MarshalError(Exception):
    """The handler returned something JSON cannot hold (Lambda: Runtime.MarshalError)."""


def error_type(error: BaseException) -> str:
    """Lambda's errorType: the runtime's own name where Lambda has one, else the exception's class."""
    given = getattr(error, "error_type", None)  # a runtime that reports Lambda's own type carries it
    if isinstance(given, str) and given:
        return given
    if isinstance(error, InvocationTimeout):
        return "Sandbox.Timedout"
    if isinstance(error, MarshalError):
        return "Runtime.MarshalError"
    if isinstance(error, HandlerNotFound):
        return "Runtime.ImportModuleError" if "importing" in str(error) else "Runtime.HandlerNotFound"
    return type(error).__name__


def _stack_trace(error: BaseException) -> list[str]:
    given = getattr(error, "stack_trace", None)
    if isinstance(given, list):
        return [str(line) for line in given]
    # The handler's frames only, as Lambda shows them: the emulator's own are not the user's concern.
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(_EMULATOR)]
    return traceback.format_list(frames)


def error_payload(inv: Invocation) -> dict[str, Any]:
    error = inv.error
    assert error is not None
    posted = getattr(error, "posted", None)
    if isinstance(posted, dict):  # a Node.js error, returned as its runtime posted it (errorType, errorMessage, trace)
        return dict(posted)
    message = str(error)
    if isinstance(error, InvocationTimeout) and "RequestId" not in message:  # Lambda's words name the request
        message = f"RequestId: {inv.request_id} Error: {message}"
    return {"errorMessage": message, "errorType": error_type(error), "requestId": inv.request_id,
            "stackTrace": _stack_trace(error)}


def error_lines(payload: dict[str, Any]) -> list[str]:
    """How the Python runtime logs an unhandled error: `[ERROR] Type: message` and the traceback."""
    trace = "".join(payload.get("stackTrace") or [])
    lines = [f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"]
    if trace:
        lines.append("Traceback (most recent call last):\n" + trace.rstrip("\n"))
    return lines


def response_body(inv: Invocation) -> tuple[bytes, dict[str, Any] | None]:
    """(the body to return, the error payload when the invocation failed)."""
    if inv.ok:
        try:
            return json.dumps(inv.result).encode(), None
        except (TypeError, ValueError) as exc:
            inv.error = MarshalError(f"Unable to marshal response: {exc}")
    payload = error_payload(inv)
    return json.dumps(payload).encode(), payload
