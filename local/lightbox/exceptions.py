"""Errors the emulator raises; each names what was wrong and, where it can, what is accepted."""

from __future__ import annotations


class LightboxError(Exception):
    """Base class for every error the emulator reports to a person."""


class TemplateError(LightboxError):
    """The SAM template asks for something the emulator cannot run as written."""

    def __init__(self, resource: str, prop: str, message: str) -> None:
        self.resource, self.prop = resource, prop
        super().__init__(f"{resource}.{prop}: {message}")


class HandlerNotFound(LightboxError):
    """A function's Handler string does not resolve to a callable."""


class InvocationTimeout(LightboxError):
    """A handler ran past its function's Timeout (Lambda says 'Task timed out')."""


class ServiceError(LightboxError):
    """An embedded service (Redis, S3) could not be started or reached."""
