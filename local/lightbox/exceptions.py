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


class InvocationTimeout(LightboxError):
    """A handler ran past its function's Timeout (Lambda says 'Task timed out')."""


class ServiceError(LightboxError):
    """An embedded service (Redis, S3) could not be started or reached."""


class Throttled(LightboxError):
    """An invocation refused because the function's concurrency is used up (Lambda's 429
    TooManyRequestsException for a synchronous invoke; an asynchronous one waits and is retried)."""
