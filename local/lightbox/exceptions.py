"""Errors the emulator raises; each names what was wrong and, where it can, what is accepted."""

from __future__ import annotations


class LightboxError(Exception):
    """Base class for every error the emulator reports to a person."""


class TemplateError(LightboxError):
    """The template asks for something the emulator cannot run as written, or that AWS would refuse.

    Its text is one line: `RESOURCE.Property: what is wrong; what is accepted` (`FILE:LINE:COLUMN: ...`
    for a syntax error, where prop is empty)."""

    def __init__(self, resource: str, prop: str, message: str) -> None:
        self.resource, self.prop, self.message = resource, prop, message
        super().__init__(f"{resource}.{prop}: {message}" if prop else f"{resource}: {message}")


class TemplateErrors(LightboxError):
    """Several template errors found at once (the SAM transform's causes, --strict's lines): one line each."""

    def __init__(self, errors: list[TemplateError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class HandlerNotFound(LightboxError):
    """A function's Handler string does not resolve to a callable."""


class FunctionError(LightboxError):
    """An invocation failed as Lambda reports it: errorType, errorMessage and stackTrace of the
    payload Lambda returns (a handler's exception class name, or Runtime.* / Sandbox.*)."""

    error_type = "Runtime.Unknown"
    posted: dict[str, object] | None = None  # a runtime's own payload, returned as it posted it (Node.js's)

    def __init__(self, message: str, error_type: str | None = None, stack_trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_type:
            self.error_type = error_type
        self.stack_trace = list(stack_trace or [])

    def payload(self, request_id: str = "") -> dict[str, object]:
        if self.posted is not None:
            return dict(self.posted)
        return {"errorMessage": self.message, "errorType": self.error_type, "requestId": request_id,
                "stackTrace": self.stack_trace}

    def __repr__(self) -> str:
        return f"{self.error_type}({self.message!r})"

    def traceback_text(self) -> str:
        """As Python prints it: the function's frames (from its environment), then type: message."""
        if self.stack_trace and not self.stack_trace[0].endswith("\n"):  # Node.js's: "Type: message", frames
            return "\n".join(self.stack_trace) + "\n"
        frames = "".join(self.stack_trace)
        head = f"Traceback (most recent call last):\n{frames}" if frames else ""
        return f"{head}{self.error_type}: {self.message}\n"


class InvocationTimeout(FunctionError):
    """A handler ran past its function's Timeout (Lambda says 'Task timed out')."""

    error_type = "Sandbox.Timedout"


class Throttled(FunctionError):
    """No execution environment free and the function at its concurrency limit (Lambda's 429)."""

    error_type = "TooManyRequestsException"


class ServiceError(LightboxError):
    """An embedded service (Redis, S3) could not be started or reached."""

